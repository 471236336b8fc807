package audit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/audicia/audicia/test/bench"
)

// sharedLogs are audit logs written by a real kube-apiserver.
func sharedLogs(t testing.TB) []string {
	t.Helper()
	logs, err := filepath.Glob("../../../shared/testdata/*.audit.log")
	require.NoError(t, err)
	require.NotEmpty(t, logs, "the shared audit logs are missing: expected ../shared/testdata beside the repository")
	return logs
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	return lines
}

// fromUpstream is what the decoder must produce for an event decoded by the
// upstream types.
func fromUpstream(e *auditv1.Event) Event {
	out := Event{
		AuditID:              parseID([]byte(e.AuditID)),
		Stage:                parseStage([]byte(e.Stage)),
		Verb:                 e.Verb,
		User:                 UserInfo{Username: e.User.Username, Groups: e.User.Groups},
		RequestReceivedNanos: e.RequestReceivedTimestamp.UnixNano(),
	}
	if e.RequestReceivedTimestamp.IsZero() {
		out.RequestReceivedNanos = 0
	}
	if e.ImpersonatedUser != nil {
		out.Impersonated = true
		out.ImpersonatedUser = UserInfo{Username: e.ImpersonatedUser.Username, Groups: e.ImpersonatedUser.Groups}
	}
	if e.ObjectRef != nil {
		out.HasObjectRef = true
		out.ObjectRef = ObjectRef{
			Resource: e.ObjectRef.Resource, Namespace: e.ObjectRef.Namespace, Name: e.ObjectRef.Name,
			APIGroup: e.ObjectRef.APIGroup, Subresource: e.ObjectRef.Subresource,
		}
	} else {
		out.RequestPath, _, _ = strings.Cut(e.RequestURI, "?")
	}
	if e.ResponseStatus != nil {
		out.Code = e.ResponseStatus.Code
	}
	switch e.Annotations["authorization.k8s.io/decision"] {
	case "allow":
		out.Decision = DecisionAllow
	case "forbid":
		out.Decision = DecisionForbid
	}
	return out
}

func decodeOne(t testing.TB, line []byte) Event {
	t.Helper()
	events, malformed, err := NewDecoder().Decode(line, nil)
	require.NoError(t, err)
	require.Zero(t, malformed)
	require.Len(t, events, 1)
	return events[0]
}

func TestDecodeAgreesWithUpstreamOnRealLogs(t *testing.T) {
	for _, path := range sharedLogs(t) {
		lines := readLines(t, path)
		require.NotEmpty(t, lines)
		for i, line := range lines {
			var want auditv1.Event
			require.NoError(t, json.Unmarshal(line, &want), "%s:%d", path, i+1)
			assert.Equal(t, fromUpstream(&want), decodeOne(t, line), "%s:%d", path, i+1)
		}
	}
}

func TestDecodeHandcrafted(t *testing.T) {
	tests := map[string]string{
		"escapes in strings":          `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x-1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/a/configmaps/b\u0026c?x=1","user":{"username":"al\"ice\u00e9@corp.com","groups":["g\\1","g2"]},"objectRef":{"resource":"configmaps","namespace":"a","name":"b\u0026c","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}`,
		"non-resource url with query": `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"8087f4f3-2bb9-4b17-8f58-e040c6f14af4","stage":"ResponseComplete","verb":"get","requestURI":"/healthz?verbose=1\u0026x","user":{"username":"u"}}`,
		"nulls and odd values":        `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"","stage":"Panic","verb":"delete","user":{"username":"u","groups":null,"extra":{"k":["v"]}},"impersonatedUser":null,"objectRef":null,"responseStatus":null,"annotations":null,"requestObject":{"a":[1,2.5e3,-3,true,false,null,{"b":"}"}]}}`,
		"impersonation":               `{"apiVersion":"audit.k8s.io/v1","kind":"Event","auditID":"8087F4F3-2BB9-4B17-8F58-E040C6F14AF4","stage":"ResponseStarted","verb":"watch","user":{"username":"admin"},"impersonatedUser":{"username":"system:serviceaccount:a:b","groups":[]},"objectRef":{"resource":"pods","namespace":"a"},"responseStatus":{"code":403},"annotations":{"authorization.k8s.io/decision":"forbid"},"requestReceivedTimestamp":"2024-02-29T23:59:59.999999Z","stageTimestamp":"2026-11-21T20:06:46.000001+01:00"}`,
		"whitespace everywhere":       " { \"kind\" : \"Event\" , \"stage\" : \"ResponseComplete\" , \"verb\" : \"list\" , \"user\" : { \"username\" : \"u\" , \"groups\" : [ \"a\" , \"b\" ] } , \"responseStatus\" : { \"code\" : 200 } } ",
	}
	for name, line := range tests {
		t.Run(name, func(t *testing.T) {
			var want auditv1.Event
			require.NoError(t, json.Unmarshal([]byte(line), &want))
			assert.Equal(t, fromUpstream(&want), decodeOne(t, []byte(line)))
		})
	}
}

func TestDecodeV1beta1(t *testing.T) {
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2019-01-01T00:00:00Z"},"level":"Metadata","timestamp":"2019-01-01T00:00:00Z","auditID":"8087f4f3-2bb9-4b17-8f58-e040c6f14af4","stage":"ResponseComplete","requestURI":"/apis/extensions/v1beta1/namespaces/a/deployments","verb":"list","user":{"username":"bob","groups":["dev"]},"objectRef":{"resource":"deployments","namespace":"a","apiGroup":"extensions","apiVersion":"v1beta1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2019-01-01T00:00:00.000001Z","stageTimestamp":"2019-01-01T00:00:00.000002Z"}`
	ev := decodeOne(t, []byte(line))
	assert.Equal(t, StageResponseComplete, ev.Stage)
	assert.Equal(t, "bob", ev.User.Username)
	assert.Equal(t, ObjectRef{Resource: "deployments", Namespace: "a", APIGroup: "extensions"}, ev.ObjectRef)
	assert.Equal(t, int32(200), ev.Code)
	assert.Equal(t, int64(1546300800000001000), ev.RequestReceivedNanos)
}

func TestDecodeEventList(t *testing.T) {
	lines := readLines(t, sharedLogs(t)[0])
	body := []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` +
		string(bytes.Join(lines, []byte(","))) + `,{"kind":"Event","stage":12},"garbage",{}]}`)
	events, malformed, err := NewDecoder().Decode(body, nil)
	require.NoError(t, err)
	assert.Len(t, events, len(lines))
	assert.Equal(t, 3, malformed)

	// Brackets balance, so the list is cut out whole; the missing comma
	// shows only after its first item was read.
	broken := []byte(`{"kind":"EventList","items":[` + string(lines[0]) + ` {"stage":"Panic","verb":"get"}]}`)
	events, _, err = NewDecoder().Decode(broken, []Event{{Verb: "kept"}})
	assert.Error(t, err)
	assert.Equal(t, []Event{{Verb: "kept"}}, events, "a broken list adds nothing")

	events, malformed, err = NewDecoder().Decode([]byte(`{"kind":"EventList","items":null}`), nil)
	require.NoError(t, err)
	assert.Empty(t, events)
	assert.Zero(t, malformed)
}

func TestDecodeRejectsMalformed(t *testing.T) {
	line := readLines(t, sharedLogs(t)[0])[1]
	bad := map[string][]byte{
		"empty":             nil,
		"truncated":         line[:len(line)/2],
		"not an object":     []byte(`"hello"`),
		"not an event":      []byte(`{"hello":"world"}`),
		"trailing garbage":  append(bytes.Clone(line), []byte(`x`)...),
		"bad literal":       []byte(`{"stage":"ResponseComplete","verb":"get","x":nul}`),
		"unterminated":      []byte(`{"stage":"ResponseComplete","verb":"get`),
		"code not a number": []byte(`{"stage":"ResponseComplete","verb":"get","responseStatus":{"code":"200"}}`),
		"bad timestamp":     []byte(`{"stage":"ResponseComplete","verb":"get","requestReceivedTimestamp":"yesterday"}`),
		"missing colon":     []byte(`{"stage" "ResponseComplete"}`),
		"bad escape":        []byte(`{"stage":"ResponseComplete","verb":"g\et"}`),
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, _, err := NewDecoder().Decode(in, nil)
			assert.Error(t, err)
		})
	}
	_, _, err := NewDecoder().Decode([]byte(`{"hello":"world"}`), nil)
	assert.True(t, errors.Is(err, ErrNotAuditEvent))
}

func TestDecoderSharesRepeatedStrings(t *testing.T) {
	line := readLines(t, sharedLogs(t)[0])[1]
	dec := NewDecoder()
	a, _, err := dec.Decode(line, nil)
	require.NoError(t, err)
	b, _, err := dec.Decode(line, nil)
	require.NoError(t, err)
	assert.Same(t, &a[0].User.Groups[0], &b[0].User.Groups[0], "equal group lists share one slice")
	allocs := testing.AllocsPerRun(100, func() { _, _, _ = dec.Decode(line, a[:0]) })
	assert.Zero(t, allocs, "decoding a line seen before allocates nothing")
}

// The decoders of one stream hand out the same strings for equal values, so
// that the pipeline's memos, which go by where strings are, see one value.
func TestDecodersOfAStreamShareStrings(t *testing.T) {
	lines := readLines(t, sharedLogs(t)[0])
	shared := newInternTable()
	first, second := newSharingDecoder(shared), newSharingDecoder(shared)
	for _, line := range lines {
		a, _, err := first.Decode(line, nil)
		require.NoError(t, err)
		b, _, err := second.Decode(line, nil)
		require.NoError(t, err)
		require.Len(t, b, len(a))
		for i := range a {
			for _, pair := range [][2]string{
				{a[i].User.Username, b[i].User.Username},
				{a[i].Verb, b[i].Verb},
				{a[i].ObjectRef.Resource, b[i].ObjectRef.Resource},
				{a[i].ObjectRef.Namespace, b[i].ObjectRef.Namespace},
				{a[i].RequestPath, b[i].RequestPath},
			} {
				require.Equal(t, unsafe.StringData(pair[0]), unsafe.StringData(pair[1]), "%q", pair[0])
			}
			if len(a[i].User.Groups) > 0 {
				require.Same(t, &a[i].User.Groups[0], &b[i].User.Groups[0], "one group list")
			}
		}
	}
	other, _, err := NewDecoder().Decode(lines[1], nil)
	require.NoError(t, err)
	first1, _, _ := first.Decode(lines[1], nil)
	assert.NotSame(t, unsafe.StringData(other[0].User.Username), unsafe.StringData(first1[0].User.Username),
		"a decoder of its own shares nothing")
}

func TestParseRFC3339UTC(t *testing.T) {
	for _, s := range []string{
		"2026-11-21T20:06:46.347340Z", "1970-01-01T00:00:00Z", "2000-02-29T12:00:00.1Z",
		"1969-12-31T23:59:59.999999999Z", "2100-03-01T00:00:00Z", "0001-01-01T00:00:00Z",
	} {
		want, err := parseTimeStd(s)
		require.NoError(t, err)
		var fresh secondMemo
		got, ok := fresh.parseRFC3339UTC([]byte(s))
		require.True(t, ok, s)
		assert.Equal(t, want, got, s)
		// The same second again, with another fraction, from the memo.
		again := strings.Replace(s, ":00Z", ":00.5Z", 1)
		if again != s {
			want, err := parseTimeStd(again)
			require.NoError(t, err)
			got, ok := fresh.parseRFC3339UTC([]byte(again))
			require.True(t, ok, again)
			assert.Equal(t, want, got, again)
		}
	}
	for _, s := range []string{"2026-02-30T00:00:00Z", "2026-11-21T20:06:46+01:00", "2026-11-21T24:00:00Z", "2026-11-21T20:06:46.Z", "2026-11-21 20:06:46Z"} {
		var fresh, warm secondMemo
		_, ok := fresh.parseRFC3339UTC([]byte(s))
		assert.False(t, ok, s)
		// Nor when the memo holds the second it starts with.
		_, _ = warm.parseRFC3339UTC([]byte(s[:19] + "Z"))
		_, ok = warm.parseRFC3339UTC([]byte(s))
		assert.False(t, ok, s)
	}
}

func FuzzDecode(f *testing.F) {
	for _, path := range sharedLogs(f) {
		for _, line := range readLines(f, path)[:20] {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"kind":"EventList","items":[{"stage":"Panic","verb":"get"}]}`))
	f.Add([]byte(`[{"stage":"Panic","verb":"get","user":{"groups":["a\u0026"]}}]`))
	// A line followed by a non-breaking space: not JSON whitespace.
	f.Add(append(readLines(f, sharedLogs(f)[0])[3], 0xc2, 0xa0))
	realLine := readLines(f, sharedLogs(f)[1])[5]
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := NewDecoder()
		_, _, _ = dec.Decode(data, nil) // must not panic, whatever the input

		// What the straight path takes, the general decoder reads the same,
		// also after a real line filled what the decoder remembers.
		for _, skip := range []bool{false, true} {
			fast, general := NewDecoder(), NewDecoder()
			fast.SkipRequestReceived, fast.SkipSystemUsers = skip, skip
			var earlier Event
			require.True(t, fast.decodeLaidOut(realLine, &earlier))
			general.SkipRequestReceived, general.SkipSystemUsers = skip, skip
			var ev Event
			if fast.decodeLaidOut(data, &ev) {
				want, err := generalDecode(general, data)
				require.NoError(t, err, "%s", data)
				require.Equal(t, want[0], ev, "%s", data)
			}
		}

		// For any event the upstream types accept, their canonical encoding
		// must decode to the same fields.
		var up auditv1.Event
		if json.Unmarshal(data, &up) != nil {
			return
		}
		canonical, err := json.Marshal(&up)
		require.NoError(t, err)
		// Compare with the canonical form as upstream reads it back: an empty
		// list, for one, does not survive omitempty.
		up = auditv1.Event{}
		require.NoError(t, json.Unmarshal(canonical, &up))
		events, _, err := dec.Decode(canonical, nil)
		if parseStage([]byte(up.Stage)) == StageUnknown && up.Verb == "" && up.Kind != "EventList" {
			require.ErrorIs(t, err, ErrNotAuditEvent)
			return
		}
		if up.Kind == "EventList" {
			return // a list's items are not fields of auditv1.Event
		}
		require.NoError(t, err, "%s", canonical)
		require.Len(t, events, 1)
		require.Equal(t, fromUpstream(&up), events[0], "%s", canonical)
	})
}

func parseTimeStd(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UnixNano(), err
}

func TestSkipSystemUsers(t *testing.T) {
	const head = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"8087f4f3-2bb9-4b17-8f58-e040c6f14af4","stage":"ResponseComplete","verb":"get",`
	const tail = `"objectRef":{"resource":"pods","namespace":"a"},"responseStatus":{"code":200}}`
	tests := map[string]struct {
		line    string
		partial bool
	}{
		"control-plane user":      {head + `"user":{"username":"system:node:n1","groups":["system:nodes"]},` + tail, true},
		"service account":         {head + `"user":{"username":"system:serviceaccount:a:b"},` + tail, false},
		"person":                  {head + `"user":{"username":"alice"},` + tail, false},
		"impersonating after":     {head + `"user":{"username":"system:admin"},"impersonatedUser":{"username":"alice"},` + tail, false},
		"stage unknown yet":       {`{"auditID":"8087f4f3-2bb9-4b17-8f58-e040c6f14af4","user":{"username":"system:node:n1"},"stage":"ResponseComplete","verb":"get",` + tail, false},
		"impersonating before":    {head + `"impersonatedUser":{"username":"alice"},"user":{"username":"system:admin"},` + tail, false},
		"system user, no auditID": {`{"stage":"ResponseComplete","verb":"get","user":{"username":"system:node:n1"},` + tail, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dec := NewDecoder()
			dec.SkipSystemUsers = true
			events, _, err := dec.Decode([]byte(tt.line), nil)
			require.NoError(t, err)
			require.Len(t, events, 1)
			full := decodeOne(t, []byte(tt.line))
			if !tt.partial {
				assert.Equal(t, full, events[0])
				return
			}
			assert.False(t, events[0].HasObjectRef, "decoding stopped after the user")
			assert.Equal(t, full.User, events[0].User)
			assert.Equal(t, full.Stage, events[0].Stage)
			assert.Equal(t, full.AuditID, events[0].AuditID)
		})
	}
}

func TestContainsImpersonatedUser(t *testing.T) {
	tests := map[string]bool{
		`"impersonatedUser":{}`:                       true,
		`,"userAgent":"x","impersonatedUser":null}`:   true,
		`"reason":"to User \"u\"","impersonatedUser"`: true,
		`impersonatedUser":{}`:                        false,
		`"impersonatedUser`:                           false,
		`"impersonatedUsers":{}`:                      false,
		`U"impersonatedUser"`:                         true,
		`"impersonated_User":{}`:                      false,
		`UUUU`:                                        false,
		``:                                            false,
	}
	for in, want := range tests {
		assert.Equal(t, want, containsImpersonatedUser([]byte(in)), "%s", in)
		assert.Equal(t, bytes.Contains([]byte(in), []byte(`"impersonatedUser"`)), want, "%s: the table itself", in)
	}
}

// TestStringEnd holds the fast search for a string's end to the
// plain definition: each backslash escapes the byte after it.
func TestStringEnd(t *testing.T) {
	plain := func(b []byte) (int, bool) {
		for i := 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return 0, false
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		b := []byte{'"'}
		const alphabet = `aaaaaaa"\\\` // long runs without a quote, and backslash runs
		for range rng.IntN(100) {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		wantEnd, wantOK := plain(b)
		end, ok := stringEnd(b, 0)
		require.Equal(t, wantOK, ok, "%q", b)
		require.Equal(t, wantEnd, end, "%q", b)
		// plainEnd takes only strings without a backslash.
		wantPlain := -1
		if q := bytes.IndexByte(b[1:], '"'); q >= 0 && bytes.IndexByte(b[1:1+q], '\\') < 0 {
			wantPlain = 1 + q
		}
		require.Equal(t, wantPlain, plainEnd(b, 1), "%q", b)
	}
}

// TestQuoteOrBackslash holds the search for a string's next quote or
// backslash to its definition, for every length and place of the match.
func TestQuoteOrBackslash(t *testing.T) {
	for n := range 70 {
		for at := range n + 1 {
			for _, c := range []byte{'"', '\\'} {
				b := bytes.Repeat([]byte{'a'}, n)
				if at < n {
					b[at] = c
				}
				require.Equal(t, at, quoteOrBackslash(b), "%q", b)
				// Bytes after b are not looked at.
				require.Equal(t, at, quoteOrBackslash(append(b, '"')[:n]), "%q", b)
			}
		}
	}
}

// TestKeysInAnyOrder decodes an event whose keys come in an order no
// producer writes, with whitespace around the colons, to the same fields.
func TestKeysInAnyOrder(t *testing.T) {
	line := readLines(t, sharedLogs(t)[0])[5]
	want := decodeOne(t, line)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(line, &fields))
	keys := slices.Sorted(maps.Keys(fields))
	slices.Reverse(keys)
	var b bytes.Buffer
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" , ")
		}
		fmt.Fprintf(&b, "%q : %s", k, fields[k])
	}
	b.WriteString("}")
	assert.Equal(t, want, decodeOne(t, b.Bytes()), "%s", b.Bytes())
}

// generalDecode decodes data with the general decoder only.
func generalDecode(d *Decoder, data []byte) ([]Event, error) {
	s := scanner{b: data}
	var ev Event
	items, err := d.decodeEvent(&s, &ev)
	if err != nil || items != nil {
		return nil, err
	}
	s.ws()
	if !s.eof() || !isEvent(&ev) {
		return nil, errors.New("not one event")
	}
	return []Event{ev}, nil
}

// TestLaidOutAgreesWithGeneral decodes every line of the real logs both
// ways, with each early stop, and checks that the straight path takes them
// all: they are what kube-apiserver writes.
func TestLaidOutAgreesWithGeneral(t *testing.T) {
	logs := map[string][][]byte{}
	for _, path := range sharedLogs(t) {
		logs[path] = readLines(t, path)
	}
	// And the synthetic log of the benchmarks, which must measure this path.
	var synthetic bytes.Buffer
	_, err := bench.Generate(&synthetic, 3000, 1)
	require.NoError(t, err)
	logs["synthetic"] = bytes.Split(bytes.TrimSpace(synthetic.Bytes()), []byte("\n"))
	for _, skip := range []bool{false, true} {
		for path, lines := range logs {
			// One decoder for the whole log, as a stream's worker: what it
			// remembers of earlier lines serves the later ones.
			fast := NewDecoder()
			fast.SkipRequestReceived, fast.SkipSystemUsers = skip, skip
			for i, line := range lines {
				general := NewDecoder()
				general.SkipRequestReceived, general.SkipSystemUsers = skip, skip
				var ev Event
				require.True(t, fast.decodeLaidOut(line, &ev), "%s:%d is laid out as kube-apiserver writes", path, i+1)
				want, err := generalDecode(general, line)
				require.NoError(t, err)
				require.Equal(t, want[0], ev, "%s:%d", path, i+1)
			}
		}
	}
}

// TestParseUUID holds the eight-digits-at-a-time UUID parser to
// encoding/hex, on every byte in every digit's place.
func TestParseUUID(t *testing.T) {
	const valid = "0123abcd-ef45-6789-ABCD-EF0123456789"
	want, err := hex.DecodeString(strings.ReplaceAll(valid, "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := parseUUID([]byte(valid)); !ok || !bytes.Equal(id[:], want) {
		t.Fatalf("parseUUID(%q) = %x, %v; want %x", valid, id, ok, want)
	}
	for pos := range len(valid) {
		for c := range 256 {
			b := []byte(valid)
			b[pos] = byte(c)
			var wantOK bool
			if valid[pos] == '-' {
				wantOK = c == '-'
			} else {
				_, err := hex.DecodeString(string([]byte{byte(c), '0'}))
				wantOK = err == nil
			}
			id, ok := parseUUID(b)
			if ok != wantOK {
				t.Fatalf("parseUUID(%q): ok = %v, want %v", b, ok, wantOK)
			}
			if !ok {
				continue
			}
			want, _ := hex.DecodeString(strings.ReplaceAll(string(b), "-", ""))
			if !bytes.Equal(id[:], want) {
				t.Fatalf("parseUUID(%q) = %x, want %x", b, id, want)
			}
		}
	}
	if _, ok := parseUUID([]byte(valid[:35])); ok {
		t.Error("parseUUID accepted 35 bytes")
	}
}

// Two users whose names fall in the same set of userTails both keep what
// was remembered of them; a third evicts the one that came first.
func TestUserTailsKeepTwoUsersOfASet(t *testing.T) {
	line := string(readLines(t, sharedLogs(t)[1])[5])
	before, _, ok := strings.Cut(line, `"username":"`)
	require.True(t, ok)
	_, after, _ := strings.Cut(line[len(before)+len(`"username":"`):], `"`)
	setOf := func(name string) uint64 { return hashBytes([]byte(name)) >> (64 - userTailBits) }
	names := []string{"alice"}
	for i := 0; len(names) < 3; i++ {
		if name := fmt.Sprintf("user-%d", i); setOf(name) == setOf(names[0]) {
			names = append(names, name)
		}
	}
	dec := NewDecoder()
	remembered := func(name string) bool {
		for _, slot := range dec.userTails[setOf(name)] {
			if slot.username == name && len(slot.rest) > 0 {
				return true
			}
		}
		return false
	}
	decode := func(name string) {
		var ev Event
		require.True(t, dec.decodeLaidOut([]byte(before+`"username":"`+name+`"`+after), &ev))
		require.Equal(t, name, ev.User.Username)
	}
	decode(names[0])
	decode(names[1])
	assert.True(t, remembered(names[0]), "the first user of the set")
	assert.True(t, remembered(names[1]), "the second user of the set")
	decode(names[2])
	assert.False(t, remembered(names[0]), "the first is evicted by the third")
	assert.True(t, remembered(names[1]))
	assert.True(t, remembered(names[2]))
}
