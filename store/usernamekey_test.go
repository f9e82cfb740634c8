package store_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"aperture/store"
)

// TestUsernameKey: every way of writing a name that finds an account has
// that account's key, and the key is what the lookup finds it by; names
// that cannot be an account keep keys of their own, bounded in size.
func TestUsernameKey(t *testing.T) {
	s := MustOpen(t, "")
	u := mustCreate(t, s, "ksenia")
	same := []string{
		"ksenia", "KSENIA", "Ksenia", " ksenia ", "\tksenia\n", "ksenia\u3000", "\u3000\u3000ksenia",
		"ksenia" + strings.Repeat("\u3000", 58), strings.Repeat("\u3000", 200) + "ksenia" + strings.Repeat(" ", 5000),
		"ksenia\u00a0", "\u2003ksenia\u2009", "\u205fksenia\u202f", "ｋｓｅｎｉａ", "ＫＳＥＮＩＡ", "\u212asenia",
		"k\u017fenia", "ksen\uff49a", "\u3000ＫＳＥＮＩＡ\u3000",
	}
	for _, name := range same {
		t.Run("same "+name[:min(len(name), 30)], func(t *testing.T) {
			if k := store.UsernameKey(name); k != "ksenia" {
				t.Fatalf("UsernameKey(%.60q) = %q, want ksenia", name, k)
			}
			got, err := s.UserByUsername(name)
			if err != nil || got.ID != u.ID {
				t.Fatalf("UserByUsername(%.60q) = %v, %v", name, got, err)
			}
		})
	}
	other := []string{
		"ksenia.", "ksenia_", "k senia", "ksenia\u200b", "\u200bksenia", "ksénia", "ksenia" + strings.Repeat("\u3000", 58) + "x",
		"ksenia" + strings.Repeat("x", 100), strings.Repeat("ｋ", 1<<20), "ksenia" + strings.Repeat("\u0301", 70),
	}
	for _, name := range other {
		t.Run("other "+name[:min(len(name), 30)], func(t *testing.T) {
			k := store.UsernameKey(name)
			if k == "ksenia" {
				t.Fatalf("UsernameKey(%.60q) is ksenia's", name)
			}
			if utf8.RuneCountInString(k) > 64*18 || len(k) > 4096 {
				t.Fatalf("UsernameKey(%.60q) is %d bytes", name, len(k))
			}
			if got, err := s.UserByUsername(name); err == nil {
				t.Fatalf("UserByUsername(%.60q) found %s", name, got.Username)
			}
		})
	}
	// Sign-up uses the same form: a look-alike of a taken name is taken.
	for _, name := range []string{"ＫＳＥＮＩＡ", "\u212asenia\u3000"} {
		if n, err := store.NormalizeUsername(name); err != nil || n != "ksenia" {
			t.Errorf("NormalizeUsername(%q) = %q, %v", name, n, err)
		}
	}
}
