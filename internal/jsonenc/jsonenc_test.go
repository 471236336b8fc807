package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	const awkward = "a\"b\\c\n\t\x01\b\f<d>&e\u2028\u2029é\xff"
	for _, s := range []string{"", "pods/exec", "a\"b\\c\nd\n", awkward, "\n" + awkward, "x\u2028", "\xff", "<", "é", "\x7f", "tab\t", "x\t\r\x01"} {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("prefix"), s); string(got) != "prefix"+string(want) {
			t.Errorf("%q: got %s, want %s", s, got[len("prefix"):], want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\n<c>\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
