package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// maxInterned bounds the strings, and the group lists, of an internTable; a
// full table is dropped and refilled, so memory stays flat however many
// distinct names a log holds.
const maxInterned = 1 << 15

// ErrNotAuditEvent is returned for JSON that is neither an audit Event nor an
// EventList: an object with neither a known stage nor a verb.
var ErrNotAuditEvent = errors.New("not an audit.k8s.io Event or EventList")

// errStopEarly ends decoding of an event whose remaining fields are not needed.
var errStopEarly = errors.New("stop early")

// Decoder decodes audit events. It walks the JSON once, keeps the fields
// Audicia uses and skips the rest without building them, and shares repeated
// strings (usernames, verbs, resources, group lists) between events instead
// of allocating them again. A Decoder is not safe for concurrent use; give
// each goroutine its own.
type Decoder struct {
	// SkipRequestReceived stops decoding an event once its stage is known to
	// be RequestReceived: such an event is only counted, and its twin at a
	// later stage carries everything. Its remaining fields stay empty and its
	// tail is not checked.
	SkipRequestReceived bool

	// SkipSystemUsers stops decoding an event once it is known to be made by
	// a `system:*` user that is not a ServiceAccount (and not impersonating
	// anyone), for consumers that drop those requests anyway: they are often
	// most of a log. The stage, audit ID and user are decoded first; the rest
	// stays empty.
	SkipSystemUsers bool

	// shared holds the strings and group lists handed out, with other
	// decoders of the same stream.
	shared *internTable
	// recent holds some of the strings of the table, found by a cheap hash
	// of their bytes: verbs, resources, namespaces and users repeat, and are
	// found there without hashing all their bytes, or a lock.
	recent [recentStrings]string
	clock  secondMemo
	// head and userTails serve the straight path (see decodeLaidOut and
	// laidOutUser).
	head      []byte
	userTails userTails
}

// NewDecoder returns a Decoder with empty intern tables.
func NewDecoder() *Decoder { return newSharingDecoder(newInternTable()) }

// newSharingDecoder returns a Decoder that hands out the strings and group
// lists of shared.
func newSharingDecoder(shared *internTable) *Decoder { return &Decoder{shared: shared} }

// internTable holds the strings and group lists that decoders hand out.
// The decoders of one stream share one, so that equal values carry the very
// same strings whichever decoder read them: the pipeline remembers what it
// worked out from values by where their strings are (see pipeline/memo.go),
// and would otherwise remember most values twice. A decoder looks here only
// when its own recent strings miss, a few times in a hundred.
type internTable struct {
	mu      sync.Mutex
	strings map[string]string
	groups  map[string][]string
}

func newInternTable() *internTable {
	return &internTable{strings: make(map[string]string), groups: make(map[string][]string)}
}

// string returns the table's string equal to b, adding it when there is none.
func (t *internTable) string(b []byte) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.strings[string(b)]
	if !ok {
		if len(t.strings) >= maxInterned {
			clear(t.strings)
		}
		s = string(b)
		t.strings[s] = s
	}
	return s
}

// groupList returns the table's group list for the JSON array raw, if any.
func (t *internTable) groupList(raw []byte) ([]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.groups[string(raw)]
	return g, ok
}

// addGroupList adds the group list decoded from raw, unless another decoder
// added it meanwhile, and returns the table's list.
func (t *internTable) addGroupList(raw []byte, groups []string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g, ok := t.groups[string(raw)]; ok {
		return g
	}
	if len(t.groups) >= maxInterned {
		clear(t.groups)
	}
	t.groups[string(raw)] = groups
	return groups
}

// Decode decodes one JSON document, an Event or an EventList, appending its
// events to dst. Items of a list that cannot be decoded are skipped and
// counted in malformed; err reports a document that is not an audit event or
// list at all.
func (d *Decoder) Decode(data []byte, dst []Event) (out []Event, malformed int, err error) {
	s := scanner{b: data}
	s.ws()
	if s.peek() != '{' {
		if s.peek() == '[' {
			return d.decodeArray(&s, dst)
		}
		return dst, 0, s.errorf("expected '{'")
	}
	// Decoded in place: an event is a few cache lines, not worth a copy.
	dst = append(dst, Event{})
	if d.decodeLaidOut(data, &dst[len(dst)-1]) {
		return dst, 0, nil
	}
	dst = dst[:len(dst)-1]
	var ev Event
	items, err := d.decodeEvent(&s, &ev)
	if err != nil {
		return dst, 0, err
	}
	s.ws()
	if !s.eof() {
		return dst, 0, s.errorf("unexpected data after the document")
	}
	if items != nil {
		return d.decodeItems(items, dst)
	}
	if !isEvent(&ev) {
		return dst, 0, ErrNotAuditEvent
	}
	return append(dst, ev), 0, nil
}

// isEvent tells an audit event from another object: it has a known stage or a verb.
func isEvent(ev *Event) bool { return ev.Stage != StageUnknown || ev.Verb != "" }

func (d *Decoder) decodeArray(s *scanner, dst []Event) ([]Event, int, error) {
	start := s.i
	if err := s.skipValue(); err != nil {
		return dst, 0, err
	}
	s.ws()
	if !s.eof() {
		return dst, 0, s.errorf("unexpected data after the document")
	}
	return d.decodeItems(s.b[start:s.i], dst)
}

// decodeItems decodes the JSON array of an EventList's items. A broken array
// adds nothing: the whole document is malformed.
func (d *Decoder) decodeItems(items []byte, dst []Event) ([]Event, int, error) {
	s := scanner{b: items}
	before := len(dst)
	malformed := 0
	err := s.array(func() error {
		start := s.i
		if err := s.skipValue(); err != nil {
			return err
		}
		var ev Event
		item := scanner{b: s.b[start:s.i]}
		if nested, err := d.decodeEvent(&item, &ev); err != nil || nested != nil || !isEvent(&ev) {
			malformed++
			return nil
		}
		dst = append(dst, ev)
		return nil
	})
	if err != nil {
		return dst[:before], 0, err
	}
	return dst, malformed, nil
}

// decodeEvent decodes one object into ev. When the object is an EventList it
// returns the raw items array instead.
func (d *Decoder) decodeEvent(s *scanner, ev *Event) (items []byte, err error) {
	var requestURI []byte
	var list bool
	err = s.object(func(key []byte) error {
		switch string(key) {
		case "kind":
			v, err := s.str()
			list = string(v) == "EventList"
			return err
		case "auditID":
			v, err := s.str()
			ev.AuditID = parseID(v)
			return err
		case "stage":
			v, err := s.str()
			ev.Stage = parseStage(v)
			if err == nil && ev.Stage == StageRequestReceived && d.SkipRequestReceived {
				return errStopEarly
			}
			return err
		case "verb":
			v, err := s.str()
			ev.Verb = d.intern(v)
			return err
		case "requestURI":
			v, err := s.rawStr() // resolved only if it turns out to be needed
			requestURI = v
			return err
		case "user":
			if err := d.decodeUser(s, &ev.User); err != nil {
				return err
			}
			if d.SkipSystemUsers && d.systemUserDone(s, ev) {
				return errStopEarly
			}
			return nil
		case "impersonatedUser":
			if s.null() {
				return nil
			}
			ev.Impersonated = true
			return d.decodeUser(s, &ev.ImpersonatedUser)
		case "objectRef":
			if s.null() {
				return nil
			}
			ev.HasObjectRef = true
			return d.decodeObjectRef(s, &ev.ObjectRef)
		case "responseStatus":
			return d.decodeStatus(s, ev)
		case "requestReceivedTimestamp":
			return s.timestamp(&d.clock, &ev.RequestReceivedNanos)
		case "annotations":
			return d.decodeAnnotations(s, ev)
		case "items":
			if s.null() {
				items = []byte("[]")
				return nil
			}
			start := s.i
			if err := s.skipValue(); err != nil {
				return err
			}
			items = s.b[start:s.i]
			return nil
		}
		return s.skipValue()
	})
	if err == errStopEarly {
		s.i = len(s.b)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if list {
		if items == nil {
			items = []byte("[]")
		}
		return items, nil
	}
	if !ev.HasObjectRef && requestURI != nil {
		if ev.RequestPath, err = d.requestPath(requestURI); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// systemUserDone reports whether the event, its user just decoded, is made by
// a control-plane identity and holds nothing more a consumer needs.
func (d *Decoder) systemUserDone(s *scanner, ev *Event) bool {
	name := ev.User.Username
	return strings.HasPrefix(name, "system:") && !strings.HasPrefix(name, "system:serviceaccount:") &&
		ev.Stage != StageUnknown && !ev.AuditID.IsZero() && !ev.Impersonated &&
		!containsImpersonatedUser(s.b[s.i:])
}

// containsImpersonatedUser reports whether b holds the key
// `"impersonatedUser"`. It looks for the capital U, which a line holds once
// or twice, and checks the bytes around it: bytes.Contains would stop at
// every quote of the JSON.
func containsImpersonatedUser(b []byte) bool {
	const key = `"impersonatedUser"`
	const u = len(`"impersonated`) // the index of the U in key
	for i := u; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], 'U')
		if j < 0 {
			return false
		}
		i += j
		if i-u+len(key) <= len(b) && string(b[i-u:i-u+len(key)]) == key {
			return true
		}
	}
	return false
}

func (d *Decoder) decodeUser(s *scanner, u *UserInfo) error {
	if s.null() {
		return nil
	}
	return s.object(func(key []byte) error {
		switch string(key) {
		case "username":
			v, err := s.str()
			u.Username = d.intern(v)
			return err
		case "groups":
			g, err := d.groupList(s)
			u.Groups = g
			return err
		}
		return s.skipValue()
	})
}

func (d *Decoder) decodeObjectRef(s *scanner, o *ObjectRef) error {
	return s.object(func(key []byte) error {
		var field *string
		switch string(key) {
		case "resource":
			field = &o.Resource
		case "namespace":
			field = &o.Namespace
		case "name":
			field = &o.Name
		case "apiGroup":
			field = &o.APIGroup
		case "subresource":
			field = &o.Subresource
		default:
			return s.skipValue()
		}
		v, err := s.str()
		*field = d.intern(v)
		return err
	})
}

func (d *Decoder) decodeStatus(s *scanner, ev *Event) error {
	if s.null() {
		return nil
	}
	return s.object(func(key []byte) error {
		if string(key) == "code" {
			n, err := s.int32()
			ev.Code = n
			return err
		}
		return s.skipValue()
	})
}

func (d *Decoder) decodeAnnotations(s *scanner, ev *Event) error {
	if s.null() {
		return nil
	}
	return s.object(func(key []byte) error {
		if string(key) != "authorization.k8s.io/decision" {
			return s.skipValue()
		}
		v, err := s.str()
		noteDecision(ev, v)
		return err
	})
}

// noteDecision records the authorizer's decision annotation; a value it does
// not know leaves the event as it was.
func noteDecision(ev *Event, v []byte) {
	switch string(v) {
	case "allow":
		ev.Decision = DecisionAllow
	case "forbid":
		ev.Decision = DecisionForbid
	}
}

// groupList decodes an array of group names, sharing the slice between
// events whose lists are byte-for-byte the same.
func (d *Decoder) groupList(s *scanner) ([]string, error) {
	if s.null() {
		return nil, nil
	}
	start := s.i
	if err := s.skipValue(); err != nil {
		return nil, err
	}
	raw := s.b[start:s.i]
	if g, ok := d.shared.groupList(raw); ok {
		return g, nil
	}
	var groups []string
	list := scanner{b: raw}
	err := list.array(func() error {
		v, err := list.str()
		groups = append(groups, d.intern(v))
		return err
	})
	if err != nil {
		return nil, err
	}
	if groups == nil {
		groups = []string{}
	}
	return d.shared.addGroupList(raw, groups), nil
}

// requestPath drops the query from a request URI still in its JSON form.
// A literal '?' ends the path; encoders do not escape it.
func (d *Decoder) requestPath(raw []byte) (string, error) {
	if i := bytes.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if bytes.IndexByte(raw, '\\') >= 0 {
		path, err := unquote(raw)
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		return d.intern(path), nil
	}
	return d.intern(raw), nil
}

// recentStrings is the size of Decoder.recent.
const (
	recentBits    = 12
	recentStrings = 1 << recentBits
)

// intern returns the string for b, allocating only the first time it is seen.
// b is the decoded value (escapes already resolved).
func (d *Decoder) intern(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	slot := &d.recent[hashBytes(b)>>(64-recentBits)]
	if *slot == string(b) {
		return *slot
	}
	s := d.shared.string(b)
	*slot = s
	return s
}

// hashBytes hashes b a word at a time, for the decoder's tables of recent
// strings. Every byte counts: names that share a long prefix, such as
// ServiceAccounts, differ only in their middle or end. The result's high
// bits are the best mixed.
func hashBytes(b []byte) uint64 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	h := uint64(len(b)) * m1
	if len(b) < 8 {
		var w uint64
		for i, c := range b {
			w |= uint64(c) << (8 * i)
		}
		return (h ^ w) * m2
	}
	last := binary.LittleEndian.Uint64(b[len(b)-8:]) // some hashed below too
	for ; len(b) > 8; b = b[8:] {
		h = (h ^ binary.LittleEndian.Uint64(b)) * m2
		h ^= h >> 29
	}
	return (h ^ last) * m1
}

// parseID reads a textual UUID into its 16 bytes, or hashes any other ID.
func parseID(b []byte) ID {
	if len(b) == 0 {
		return ID{}
	}
	if len(b) == 36 {
		if id, ok := parseUUID(b); ok {
			return id
		}
	}
	var id ID
	sum := sha256.Sum256(b)
	copy(id[:], sum[:16])
	return id
}

// parseUUID reads the textual UUID that b starts with (8-4-4-4-12 hex
// digits), eight digits at a time.
func parseUUID(b []byte) (id ID, ok bool) {
	if len(b) < 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return id, false
	}
	le := binary.LittleEndian
	const low = 0xffffffff
	w0, w1 := le.Uint64(b[0:]), le.Uint64(b[9:])&low|le.Uint64(b[14:])<<32
	w2, w3 := le.Uint64(b[19:])&low|le.Uint64(b[24:])<<32, le.Uint64(b[28:])
	le.PutUint32(id[0:], hexValue(w0))
	le.PutUint32(id[4:], hexValue(w1))
	le.PutUint32(id[8:], hexValue(w2))
	le.PutUint32(id[12:], hexValue(w3))
	return id, notHex(w0)|notHex(w1)|notHex(w2)|notHex(w3) == 0
}

// hexValue reads eight hex digits, the first in the low byte of w, into four
// bytes, the first in the low byte of the result. Of a byte that is not a
// hex digit (see notHex) it makes nothing that means anything.
func hexValue(w uint64) uint32 {
	const ones = 0x0101010101010101
	// A digit's value is its low four bits; a letter's (bit 6 set) nine more.
	x := w&(ones*0x0f) + (w&(ones*0x40))>>6*9
	// Pairs of digits into bytes, in the low byte of each 16-bit lane, then
	// the four bytes together.
	x = (x<<4 | x>>8) & 0x00ff00ff00ff00ff
	x = (x | x>>8) & 0x0000ffff0000ffff
	return uint32(x | x>>16)
}

// notHex sets the high bit of each byte of w that is not a hex digit.
func notHex(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// With every byte below 0x80, adding 0x80-c to a byte carries into its
	// high bit exactly when the byte is at least c.
	lower := w | ones*0x20 // letters to lower case; digits stay
	digit := (w + ones*(0x80-'0')) &^ (w + ones*(0x80-'9'-1))
	letter := (lower + ones*(0x80-'a')) &^ (lower + ones*(0x80-'f'-1))
	return (^(digit | letter) | w) & highs
}

// unquote resolves the escapes of a JSON string body; rare in audit logs, so
// it defers to encoding/json.
func unquote(body []byte) ([]byte, error) {
	quoted := make([]byte, 0, len(body)+2)
	quoted = append(append(append(quoted, '"'), body...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, fmt.Errorf("invalid string escape: %w", err)
	}
	return []byte(s), nil
}
