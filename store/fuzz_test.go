package store

import (
	"strconv"
	"testing"
)

// FuzzParseID checks that ParseID accepts exactly the canonical positive
// decimal uint64s and round-trips them.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "0", "238764052154653696", "-1", "+1", "18446744073709551615", "18446744073709551616", "1e9", " 1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		v, perr := strconv.ParseUint(s, 10, 64)
		want := perr == nil && v > 0 && s[0] != '0'
		if (err == nil) != want {
			t.Fatalf("ParseID(%q) = %d, %v; want ok=%v", s, id, err, want)
		}
		if err == nil && id.String() != strconv.FormatUint(v, 10) {
			t.Fatalf("round trip %q → %s", s, id)
		}
	})
}
