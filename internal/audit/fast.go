package audit

import "bytes"

// This file decodes events laid out exactly as kube-apiserver writes them:
// compact JSON with the fields in the order of the audit.k8s.io Go types.
// Nearly every line of a real log is such an event, so it is read straight
// through, each key compared in place with the one expected, without the
// general decoder's calls per key and per value. At the first byte that is
// not as expected (another producer, an escape in a value that is kept, a
// field out of order) decodeLaidOut gives up and the line is decoded the
// general way, from its start: the result is the same either way, only the
// time differs. Tests hold both to each other on real logs and on fuzzed
// input.

// cursor reads a line from left to right.
type cursor struct {
	b []byte
	i int
}

// lit consumes s if the line continues with it. Many keys tried are absent
// (optional fields): comparing one byte from the middle first turns most of
// those away without a call to compare the whole key.
func (c *cursor) lit(s string) bool {
	if len(c.b)-c.i >= len(s) && c.b[c.i+len(s)/2] == s[len(s)/2] && string(c.b[c.i:c.i+len(s)]) == s {
		c.i += len(s)
		return true
	}
	return false
}

// plain reads the rest of a string whose opening quote has been consumed,
// and the closing quote. ok is false when the string holds an escape: the
// value would need unescaping, which only the general decoder does.
func (c *cursor) plain() (body []byte, ok bool) {
	start := c.i
	end := plainEnd(c.b, start)
	if end < 0 {
		return nil, false
	}
	c.i = end + 1
	return c.b[start:end], true
}

// skipString moves past the rest of a string whose opening quote has been
// consumed, escapes and all.
func (c *cursor) skipString() bool {
	end := quoteEnd(c.b, c.i)
	if end < 0 {
		return false
	}
	c.i = end + 1
	return true
}

// timestamp reads the rest of a timestamp string, and the closing quote.
// Timestamps as kube-apiserver writes them, to the microsecond, are read
// without searching for their end: one that parses holds no quote.
func (c *cursor) timestamp(clock *secondMemo) (int64, bool) {
	const n = len("2006-01-02T15:04:05.000000Z")
	if len(c.b)-c.i > n && c.b[c.i+n] == '"' {
		if t, ok := clock.parseRFC3339UTC(c.b[c.i : c.i+n]); ok {
			c.i += n + 1
			return t, true
		}
	}
	start := c.i
	v, ok := c.plain()
	if !ok {
		return 0, false
	}
	t, ok := clock.parseRFC3339UTC(v)
	if !ok {
		c.i = start
	}
	return t, ok
}

// uuid reads the rest of an audit ID string that is a textual UUID, as
// kube-apiserver writes them, and the closing quote; its digits leave no
// room for a quote or an escape.
func (c *cursor) uuid() (ID, bool) {
	const n = len("01234567-89ab-cdef-0123-456789abcdef")
	if len(c.b)-c.i <= n || c.b[c.i+n] != '"' {
		return ID{}, false
	}
	id, ok := parseUUID(c.b[c.i:])
	if ok {
		c.i += n + 1
	}
	return id, ok
}

// skipValue moves past any JSON value with the general scanner.
func (c *cursor) skipValue() bool {
	s := scanner{b: c.b, i: c.i}
	if s.skipValue() != nil {
		return false
	}
	c.i = s.i
	return true
}

// decodeLaidOut decodes a line laid out as kube-apiserver writes it into ev,
// with the same early stops as the general decoder. It reports false, with
// ev in any state, when the line is laid out otherwise.
func (d *Decoder) decodeLaidOut(line []byte, ev *Event) bool {
	c := cursor{b: line}
	// The line's head, up to the audit ID, is mostly that of the last one.
	if len(d.head) > 0 && bytes.HasPrefix(line, d.head) {
		c.i = len(d.head)
	} else {
		if !c.lit(`{"kind":"Event","apiVersion":"`) || !c.skipString() || !c.lit(`,"level":"`) || !c.skipString() || !c.lit(`,"auditID":"`) {
			return false
		}
		d.head = remember(d.head, line[:c.i])
	}
	if id, ok := c.uuid(); ok {
		ev.AuditID = id
	} else {
		v, ok := c.plain()
		if !ok {
			return false
		}
		ev.AuditID = parseID(v)
	}
	if !c.lit(`,"stage":"`) {
		return false
	}
	v, ok := c.plain()
	if !ok {
		return false
	}
	ev.Stage = parseStage(v)
	if ev.Stage == StageRequestReceived && d.SkipRequestReceived {
		return true
	}
	var requestURI []byte
	if c.lit(`,"requestURI":"`) {
		start := c.i
		if !c.skipString() {
			return false
		}
		requestURI = line[start : c.i-1]
	}
	if c.lit(`,"verb":"`) {
		if v, ok = c.plain(); !ok {
			return false
		}
		ev.Verb = d.intern(v)
	}
	if !c.lit(`,"user":{`) {
		return false
	}
	user, ok := d.laidOutUser(&c, &ev.User)
	if !ok {
		return false
	}
	if d.SkipSystemUsers && d.systemUserDone(&scanner{b: line, i: c.i}, ev) {
		return true
	}
	if c.lit(`,"impersonatedUser":{`) {
		ev.Impersonated = true
		if _, ok := d.laidOutUser(&c, &ev.ImpersonatedUser); !ok {
			return false
		}
	}
	if !d.laidOutClient(&c, user) {
		return false
	}
	if c.lit(`,"objectRef":{`) {
		ev.HasObjectRef = true
		if !d.laidOutObjectRef(&c, &ev.ObjectRef) {
			return false
		}
	}
	if c.lit(`,"responseStatus":{`) && !laidOutStatus(&c, ev) {
		return false
	}
	for _, key := range [...]string{`,"requestObject":`, `,"responseObject":`} {
		if c.lit(key) && !c.skipValue() {
			return false
		}
	}
	if c.lit(`,"requestReceivedTimestamp":"`) {
		if ev.RequestReceivedNanos, ok = c.timestamp(&d.clock); !ok {
			return false
		}
	}
	if c.lit(`,"stageTimestamp":"`) && !c.skipString() {
		return false
	}
	if c.lit(`,"annotations":{`) {
		// A user's events mostly carry the same annotations (the decision,
		// and the binding that allowed it).
		if user != nil && len(user.annotations) > 0 && bytes.HasPrefix(line[c.i:], user.annotations) {
			ev.Decision = user.decision
			c.i += len(user.annotations)
		} else {
			start := c.i
			if !laidOutAnnotations(&c, ev) {
				return false
			}
			if user != nil {
				user.annotations, user.decision = remember(user.annotations, line[start:c.i]), ev.Decision
			}
		}
	}
	if !c.lit("}") || !isEvent(ev) {
		return false
	}
	// Only what the general decoder takes for whitespace may follow.
	rest := scanner{b: line, i: c.i}
	if rest.ws(); !rest.eof() {
		return false
	}
	if !ev.HasObjectRef && requestURI != nil {
		path, err := d.requestPath(requestURI)
		if err != nil {
			return false
		}
		ev.RequestPath = path
	}
	return true
}

// laidOutClient reads what an event says of the client, after the user
// and impersonatedUser: authenticationMetadata, sourceIPs and userAgent. A
// user's events mostly come from the same client, so the bytes read for
// the user's last event are compared first.
func (d *Decoder) laidOutClient(c *cursor, user *userTail) bool {
	if user != nil && len(user.client) > 0 && bytes.HasPrefix(c.b[c.i:], user.client) {
		c.i += len(user.client)
		return true
	}
	start := c.i
	for _, key := range [...]string{`,"authenticationMetadata":`, `,"sourceIPs":`} {
		if c.lit(key) && !c.skipValue() {
			return false
		}
	}
	if c.lit(`,"userAgent":"`) && !c.skipString() {
		return false
	}
	if user != nil {
		user.client = remember(user.client, c.b[start:c.i])
	}
	return true
}

// laidOutUser reads a user object after its opening brace, and the closing
// one. It returns the user's slot in userTails, nil without a username.
func (d *Decoder) laidOutUser(c *cursor, u *UserInfo) (*userTail, bool) {
	var m members
	if !c.member(&m, `,"username":"`) {
		return nil, d.laidOutUserRest(c, &m, u)
	}
	v, ok := c.plain()
	if !ok {
		return nil, false
	}
	// What follows the username (uid, groups, extra) is the same in most of
	// a user's events; bytes read before read the same again.
	tail := d.userTails.of(d, v)
	u.Username = tail.username
	if len(tail.rest) > 0 && bytes.HasPrefix(c.b[c.i:], tail.rest) {
		u.Groups = tail.groups
		c.i += len(tail.rest)
		return tail, true
	}
	start := c.i
	if !d.laidOutUserRest(c, &m, u) {
		return nil, false
	}
	tail.rest, tail.groups = remember(tail.rest, c.b[start:c.i]), u.Groups
	return tail, true
}

// laidOutUserRest reads a user object from after its username (if any) to
// its closing brace.
func (d *Decoder) laidOutUserRest(c *cursor, m *members, u *UserInfo) bool {
	if c.member(m, `,"uid":"`) && !c.skipString() {
		return false
	}
	if c.member(m, `,"groups":`) {
		s := scanner{b: c.b, i: c.i}
		groups, err := d.groupList(&s)
		if err != nil {
			return false
		}
		u.Groups, c.i = groups, s.i
	}
	if c.member(m, `,"extra":`) && !c.skipValue() {
		return false
	}
	return c.lit("}")
}

// userTails remembers, per username, parts of the user's last event that
// most of its events repeat: the rest of the user object after the
// username, with the groups it held; what the event said of the client;
// and the annotations, with the decision they held. Each username has a set
// of two slots: with one slot each, a large log's users would keep evicting
// each other (8% of the events of the benchmark log found their user's slot
// taken by another).
type userTails [userTailSets][2]userTail

// userTailSets is the size of userTails: the users of a large log.
const (
	userTailBits = 12
	userTailSets = 1 << userTailBits
)

// maxRemembered bounds the bytes remembered of a part.
const maxRemembered = 1024

type userTail struct {
	// hash is the username's hashBytes: comparing it first spares reading
	// the name of the other user of the set.
	hash        uint64
	username    string
	rest        []byte
	groups      []string
	client      []byte
	annotations []byte
	decision    Decision
}

// of returns the slot of the username. A new username takes the first slot
// of its set, and the user there moves to the second, evicting the one that
// came before it, whose buffers the new one reuses. The slot holds the
// username interned: a username found there needs no other lookup.
func (t *userTails) of(d *Decoder, username []byte) *userTail {
	h := hashBytes(username)
	set := &t[h>>(64-userTailBits)]
	for i := range set {
		if set[i].hash == h && set[i].username == string(username) {
			return &set[i]
		}
	}
	evicted := set[1]
	set[1] = set[0]
	set[0] = userTail{hash: h, username: d.intern(username), rest: evicted.rest[:0], client: evicted.client[:0], annotations: evicted.annotations[:0]}
	return &set[0]
}

// remember copies part into the memory of old, or forgets it when it is long.
func remember(old, part []byte) []byte {
	if len(part) > maxRemembered {
		return old[:0]
	}
	return append(old[:0], part...)
}

// members tracks whether an object's first member has been read: the
// others come after a comma.
type members struct{ started bool }

// member consumes the key of an object's member if it comes next. key is
// written with its leading comma, which the first member has not.
func (c *cursor) member(m *members, key string) bool {
	if !m.started {
		key = key[1:]
	}
	if c.lit(key) {
		m.started = true
		return true
	}
	return false
}

// laidOutObjectRef reads an objectRef after its opening brace, and the
// closing one.
func (d *Decoder) laidOutObjectRef(c *cursor, o *ObjectRef) bool {
	// Written out key by key, not as a loop over a table: the compiler then
	// compares each key, a constant, in place, without a call. An objectRef
	// as kube-apiserver writes it starts with its resource.
	if !c.lit(`"resource":"`) || !d.laidOutValue(c, &o.Resource) {
		return false
	}
	if c.lit(`,"namespace":"`) && !d.laidOutValue(c, &o.Namespace) {
		return false
	}
	if c.lit(`,"name":"`) && !d.laidOutValue(c, &o.Name) {
		return false
	}
	if c.lit(`,"uid":"`) && !c.skipString() {
		return false
	}
	if c.lit(`,"apiGroup":"`) && !d.laidOutValue(c, &o.APIGroup) {
		return false
	}
	if c.lit(`,"apiVersion":"`) && !c.skipString() {
		return false
	}
	if c.lit(`,"resourceVersion":"`) && !c.skipString() {
		return false
	}
	if c.lit(`,"subresource":"`) && !d.laidOutValue(c, &o.Subresource) {
		return false
	}
	return c.lit("}")
}

// laidOutValue reads the rest of a string, interned, into dst. It reports
// false for a value only the general decoder reads.
func (d *Decoder) laidOutValue(c *cursor, dst *string) bool {
	v, ok := c.plain()
	if ok {
		*dst = d.intern(v)
	}
	return ok
}

// laidOutStatus reads a responseStatus after its opening brace, and the
// closing one: its code, and the fields of a failure, which it skips.
func laidOutStatus(c *cursor, ev *Event) bool {
	// A success is all but always just its code.
	if c.lit(`"metadata":{},"code":`) {
		return laidOutCode(c, ev)
	}
	if !c.lit(`"metadata":{}`) && (!c.lit(`"metadata":`) || !c.skipValue()) {
		return false
	}
	for _, key := range [...]string{`,"status":`, `,"message":`, `,"reason":`, `,"details":`} {
		if c.lit(key) && !c.skipValue() {
			return false
		}
	}
	if c.lit(`,"code":`) {
		return laidOutCode(c, ev)
	}
	return c.lit("}")
}

// laidOutCode reads a status's code, the last of its keys, and the closing
// brace.
func laidOutCode(c *cursor, ev *Event) bool {
	s := scanner{b: c.b, i: c.i}
	code, err := s.int32()
	if err != nil {
		return false
	}
	ev.Code, c.i = code, s.i
	return c.lit("}")
}

// laidOutAnnotations reads the annotations after their opening brace, and
// the closing one: the authorizer's decision, and the others, skipped.
func laidOutAnnotations(c *cursor, ev *Event) bool {
	var m members
	for !c.lit("}") {
		if !c.member(&m, `,"`) {
			return false
		}
		key, ok := c.plain()
		if !ok || !c.lit(":") {
			return false
		}
		if string(key) != "authorization.k8s.io/decision" {
			if !c.skipValue() {
				return false
			}
			continue
		}
		if !c.lit(`"`) {
			return false
		}
		v, ok := c.plain()
		if !ok {
			return false
		}
		noteDecision(ev, v)
	}
	return true
}
