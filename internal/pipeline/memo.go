package pipeline

import (
	"unsafe"

	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/policy"
)

// The decoders of a stream share the strings of repeated values between
// events, so most events carry the very strings of an event seen a little
// earlier. What the pipeline works out from such strings (the atom of a
// target, the identity of a username) is remembered by where the strings
// are, not by what they hold: comparing a few pointers is much cheaper than
// hashing and comparing the strings. Equal strings in other places only miss
// the memo.

// targetMemo remembers the targets of recent events by the identity of
// their strings.
type targetMemo struct {
	// atoms is the table the atom numbers are of; a new one (see
	// store.compactAtoms) empties the memo.
	atoms *atomTable
	slots [targetSlots]target
}

// targetSlots is the size of the memo: the distinct targets of a large log.
// On the benchmark log, 8,192 slots missed 11% of the lookups, 16,384 miss
// 6%; 32,768 were slower again, the memo outgrowing the caches.
const (
	targetBits  = 14
	targetSlots = 1 << targetBits
)

// target is what an event's verb and target come to. The fields every
// event reads, to find its target and record the request, come first: they
// share the slot's first cache lines.
type target struct {
	set       bool
	hasObject bool
	// ok is false for a target RBAC cannot express.
	ok bool
	// namesApply says whether the atom's rule may be narrowed to object names.
	namesApply bool
	// id numbers the atom in the table, once a request for it is recorded
	// (numbered): atoms of requests that are filtered or dropped take no room.
	numbered bool
	id       atomID
	// key holds the event's verb, API group, resource, subresource and
	// namespace, or its verb and request path when it has no objectRef.
	key [5]string

	// atom is the permission the target comes to.
	atom Atom
}

func targetKey(ev *audit.Event) (key [5]string) {
	if !ev.HasObjectRef {
		return [5]string{ev.Verb, ev.RequestPath}
	}
	ref := &ev.ObjectRef
	return [5]string{ev.Verb, ref.APIGroup, ref.Resource, ref.Subresource, ref.Namespace}
}

// target returns what the event's target comes to, worked out when the memo
// does not hold it. It stays valid until the next call.
func (m *targetMemo) target(ev *audit.Event, atoms *atomTable, migrate bool) *target {
	if m.atoms != atoms {
		m.slots, m.atoms = [targetSlots]target{}, atoms
	}
	key := targetKey(ev)
	h := uint64(0)
	for _, s := range key {
		h = (h ^ stringIdentity(s)) * 0x9e3779b97f4a7c15
	}
	t := &m.slots[h>>(64-targetBits)]
	if t.set && t.hasObject == ev.HasObjectRef && sameStrings(&t.key, &key) {
		return t
	}
	*t = target{key: key, hasObject: ev.HasObjectRef, set: true}
	t.atom, t.ok = atomOf(ev, migrate)
	t.namesApply = t.ok && policy.NamesApply(t.atom.Verb, t.atom.Resource)
	return t
}

// identityMemo remembers the identities of recent usernames by the
// identity of their strings.
type identityMemo [identitySlots]struct {
	username string
	id       *identity
}

// identitySlots is the size of the memo: the users of a large log.
const (
	identityBits  = 13
	identitySlots = 1 << identityBits
)

// get returns the username's identity, if the memo holds it.
func (m *identityMemo) get(username string) *identity {
	slot := &m[(stringIdentity(username)*0x9e3779b97f4a7c15)>>(64-identityBits)]
	if slot.id != nil && sameString(slot.username, username) {
		return slot.id
	}
	return nil
}

func (m *identityMemo) put(username string, id *identity) {
	slot := &m[(stringIdentity(username)*0x9e3779b97f4a7c15)>>(64-identityBits)]
	slot.username, slot.id = username, id
}

func sameStrings(a, b *[5]string) bool {
	for i := range a {
		if !sameString(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}

func stringIdentity(s string) uint64 {
	if len(s) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) + uint64(len(s))
}
