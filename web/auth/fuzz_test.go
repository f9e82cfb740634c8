package auth_test

import (
	"io/fs"
	"testing"
	"time"

	"aperture/web/auth"
)

// FuzzParse feeds arbitrary bytes to the access-token and refresh-token
// parsers: they must refuse without panicking.
func FuzzParse(f *testing.F) {
	kr, err := auth.LoadKeyring(memKeys{}, time.Unix(0, 0), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	tk := &auth.Tokens{Keys: kr, TTL: time.Minute}
	good, _, _ := tk.Sign(1<<30, 1<<31, time.Unix(100, 0))
	for _, s := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "1.AAAA", good + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := tk.Parse(s, time.Unix(100, 0)); err == nil && s != good {
			t.Fatalf("accepted %q as %+v", s, c)
		}
		auth.SplitRefresh(s)
	})
}

type memKeys struct{}

func (memKeys) Load() ([]byte, error) { return nil, errNotExist }
func (memKeys) Save([]byte) error     { return nil }

var errNotExist = fs.ErrNotExist
