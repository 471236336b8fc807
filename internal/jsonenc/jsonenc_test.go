package jsonenc

import (
	"bytes"
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

// TestPlainPrefix holds the search for the first byte JSON escapes to its
// definition, for every byte value, length and place.
func TestPlainPrefix(t *testing.T) {
	isPlain := func(c byte) bool {
		return c >= ' ' && c <= '~' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	for c := range 256 {
		for n := range 40 {
			for at := range n + 1 {
				b := bytes.Repeat([]byte{'a'}, n)
				want := n
				if at < n {
					b[at] = byte(c)
					if !isPlain(byte(c)) {
						want = at
					}
				}
				if got := plainPrefix(string(b)); got != want {
					t.Fatalf("%q: got %d, want %d", b, got, want)
				}
				if got := widePlainPrefix(string(b)); got != want {
					t.Fatalf("wide, %q: got %d, want %d", b, got, want)
				}
			}
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
