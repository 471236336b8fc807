package audit

import (
	"bytes"
	"fmt"
	"time"
)

// scanner walks a JSON document in place. It reads the values Audicia needs
// and skips the others without decoding them: skipping only has to find where
// a value ends, which for the long strings of an audit event (user agents,
// messages, annotations) is a vectorised search for the closing quote.
type scanner struct {
	b []byte
	i int
}

// SyntaxError describes malformed JSON and where it was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.Offset, e.Msg)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: s.i, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) eof() bool { return s.i >= len(s.b) }

// ws skips whitespace. Audit logs are compact, so the first test almost
// always ends it; any control byte counts as whitespace.
func (s *scanner) ws() {
	b, i := s.b, s.i
	if i < len(b) && b[i] > ' ' {
		return
	}
	for i < len(b) && b[i] <= ' ' {
		i++
	}
	s.i = i
}

// peek returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	s.ws()
	if s.peek() != c {
		if s.eof() {
			return s.errorf("unexpected end, expected %q", c)
		}
		return s.errorf("expected %q, found %q", c, s.b[s.i])
	}
	s.i++
	return nil
}

// null consumes a JSON null if one comes next.
func (s *scanner) null() bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// object calls member for each key of an object; member must consume the value.
// Keys are handed over without resolving escapes: no key Audicia reads has any.
func (s *scanner) object(member func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	s.ws()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.peek() != '"' {
			return s.errorf("expected a key")
		}
		end, ok := stringEnd(s.b, s.i)
		if !ok {
			return s.errorf("unterminated string")
		}
		key := s.b[s.i+1 : end-1]
		s.i = end
		if s.peek() == ':' {
			s.i++
		} else if err := s.expect(':'); err != nil {
			return err
		}
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		s.ws()
		if s.eof() {
			return s.errorf("unexpected end of object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or '}' in object")
		}
	}
}

// array calls elem for each element of an array; elem must consume it.
func (s *scanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	s.ws()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		s.ws()
		if s.eof() {
			return s.errorf("unexpected end of array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or ']' in array")
		}
	}
}

// str reads a string and returns its decoded bytes. Without escapes (the
// common case) the result aliases the input.
func (s *scanner) str() ([]byte, error) {
	body, err := s.rawStr()
	if err != nil || bytes.IndexByte(body, '\\') < 0 {
		return body, err
	}
	return unquote(body)
}

// rawStr reads a string and returns its body with escapes unresolved.
func (s *scanner) rawStr() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		s.ws()
		if s.peek() != '"' {
			return nil, s.errorf("expected a string")
		}
	}
	end, ok := stringEnd(s.b, s.i)
	if !ok {
		return nil, s.errorf("unterminated string")
	}
	body := s.b[s.i+1 : end-1]
	s.i = end
	return body, nil
}

// skipString moves past a string whose opening quote is at s.i.
func (s *scanner) skipString() error {
	if end, ok := stringEnd(s.b, s.i); ok {
		s.i = end
		return nil
	}
	return s.errorf("unterminated string")
}

// stringEnd returns the index after the closing quote of the string whose
// opening quote is at open.
func stringEnd(b []byte, open int) (int, bool) {
	end := quoteEnd(b, open+1)
	return end + 1, end >= 0
}

// quoteEnd returns the index of the quote that ends the string whose body
// starts at i, or -1. Most strings hold no backslash: their end is the first
// quote or backslash found, sixteen bytes at a time. After a backslash the
// search goes on quote by quote with the vectorised bytes.IndexByte; a quote
// preceded by an odd run of backslashes is escaped.
func quoteEnd(b []byte, i int) int {
	start := i // no backslash before it
	i += quoteOrBackslash(b[i:])
	if i == len(b) {
		return -1
	}
	for {
		if b[i] == '"' {
			k := i - 1
			for k >= start && b[k] == '\\' {
				k--
			}
			if (i-1-k)%2 == 0 {
				return i
			}
			i++
		}
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
	}
}

// plainEnd returns the index of the quote that ends the string whose body
// starts at i, or -1 when the string holds a backslash (or does not end):
// such a value needs unescaping.
func plainEnd(b []byte, i int) int {
	if i += quoteOrBackslash(b[i:]); i < len(b) && b[i] == '"' {
		return i
	}
	return -1
}

// skipValue moves past any JSON value.
func (s *scanner) skipValue() error {
	s.ws()
	if s.eof() {
		return s.errorf("unexpected end, expected a value")
	}
	switch c := s.b[s.i]; c {
	case '"':
		return s.skipString()
	case '{', '[':
		return s.skipNested()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			s.skipNumber()
			return nil
		}
		return s.errorf("unexpected %q", c)
	}
}

// skipNested moves past an object or array by counting brackets outside strings.
func (s *scanner) skipNested() error {
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			if err := s.skipString(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.i++
				return nil
			}
		}
		s.i++
	}
	return s.errorf("unterminated object or array")
}

func (s *scanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.errorf("invalid literal")
	}
	s.i += len(word)
	return nil
}

func (s *scanner) skipNumber() {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) int32() (int32, error) {
	s.ws()
	start := s.i
	neg := s.peek() == '-'
	if neg {
		s.i++
	}
	var n int64
	digits := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int64(s.b[s.i]-'0')
		digits++
		s.i++
		if n > 1<<31 {
			return 0, s.errorf("number out of range")
		}
	}
	if digits == 0 {
		s.i = start
		return 0, s.errorf("expected an integer")
	}
	if neg {
		n = -n
	}
	return int32(n), nil
}

// timestamp reads an RFC 3339 time into Unix nanoseconds. A null leaves it zero.
func (s *scanner) timestamp(clock *secondMemo, dst *int64) error {
	if s.null() {
		return nil
	}
	v, err := s.str()
	if err != nil {
		return err
	}
	if len(v) == 0 {
		return nil
	}
	if n, ok := clock.parseRFC3339UTC(v); ok {
		*dst = n
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return fmt.Errorf("invalid timestamp %q: %w", v, err)
	}
	*dst = t.UnixNano()
	return nil
}

// secondMemo remembers the second of the last timestamp parsed: a log is
// written in time order, so most events share their second with the one
// before, and only the fraction is left to read.
type secondMemo struct {
	text [len("2006-01-02T15:04:05")]byte
	unix int64
	set  bool
}

// parseRFC3339UTC parses the form kube-apiserver writes,
// `2006-01-02T15:04:05.999999999Z`, without allocating. Other forms (offsets)
// report !ok and go to time.Parse.
func (m *secondMemo) parseRFC3339UTC(b []byte) (int64, bool) {
	n := len(m.text)
	if len(b) <= n || b[len(b)-1] != 'Z' {
		return 0, false
	}
	if !m.set || string(b[:n]) != string(m.text[:]) {
		secs, ok := parseSecond(b[:n])
		if !ok {
			return 0, false
		}
		copy(m.text[:], b[:n])
		m.unix, m.set = secs, true
	}
	nanos := 0
	if frac := b[n : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, false
		}
		digits, ok := decimal(frac[1:])
		if !ok {
			return 0, false
		}
		for range 10 - len(frac) {
			digits *= 10
		}
		nanos = digits
	}
	return m.unix*1e9 + int64(nanos), true
}

// parseSecond parses `2006-01-02T15:04:05` into Unix seconds.
func parseSecond(b []byte) (int64, bool) {
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := decimal(b[0:4])
	month, ok2 := decimal(b[5:7])
	day, ok3 := decimal(b[8:10])
	hour, ok4 := decimal(b[11:13])
	minute, ok5 := decimal(b[14:16])
	sec, ok6 := decimal(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	if day > daysIn(month, year) {
		return 0, false
	}
	return daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec), true
}

// decimal reads a run of decimal digits.
func decimal(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to the given proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}
