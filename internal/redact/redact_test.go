package redact

import (
	"strings"
	"testing"
)

func TestStringHidesEveryRunOfTheKey(t *testing.T) {
	key := "pplx-0123456789abcdef"
	for in, want := range map[string]string{
		"key " + key + " bad":         "key [redacted] bad",
		"starts pplx-0123, ok":        "starts [redacted], ok",
		"ends 89abcdef.":              "ends [redacted].",
		"twice " + key + key:          "twice [redacted]",
		"short pplx-01 is fine":       "short pplx-01 is fine",
		"nothing of it here at all":   "nothing of it here at all",
		"Bearer " + key + `","code":`: `Bearer [redacted]","code":`,
	} {
		if got := String(in, key); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAShortKeyIsHiddenWhole(t *testing.T) {
	if got := String("the key abc12 and abc1", "abc12"); got != "the key [redacted] and abc1" {
		t.Errorf("got %q", got)
	}
	if got := String("no key at all", ""); got != "no key at all" {
		t.Errorf("an empty key changed the text: %q", got)
	}
}

func TestCleanTextIsNotCopied(t *testing.T) {
	b := []byte(strings.Repeat("an answer with no key in it. ", 100))
	if got := New("pplx-0123456789abcdef").Bytes(b); &got[0] != &b[0] {
		t.Error("clean text was copied")
	}
}

func BenchmarkBytesOfAStreamEvent(b *testing.B) {
	event := []byte(`data: {"type":"response.output_text.delta","delta":"` + strings.Repeat("word ", 40) + `"}` + "\n\n")
	key := New("pplx-0123456789abcdefghijklmnopqrstuvwxyz01")
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		key.Bytes(event)
	}
}

func FuzzNoRunOfTheKeySurvives(f *testing.F) {
	const key = "pplx-0123456789abcdef"
	f.Add("key pplx-0123456789abcdef and 89abcdef.")
	f.Add("pplx-01234pplx-0123456789")
	f.Fuzz(func(t *testing.T, s string) {
		got := New(key).String(s)
		for i := 0; i+MinRun <= len(key); i++ {
			if strings.Contains(got, key[i:i+MinRun]) {
				t.Fatalf("String(%q) = %q keeps %q", s, got, key[i:i+MinRun])
			}
		}
	})
}
