package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"aperture/store"
	"aperture/web"
)

// fullWidth writes ASCII letters and digits as their full-width forms.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r - '!' + '！'
		}
		return r
	}, s)
}

// nameVariants are ways of writing one username that find its account.
var nameVariants = []struct {
	name string
	of   func(string) string
}{
	{"upper case", strings.ToUpper},
	{"spaces around", func(s string) string { return " " + s + "\t" }},
	{"ideographic spaces past 64 bytes", func(s string) string { return s + strings.Repeat("\u3000", 64-len(s)) }},
	{"ideographic spaces before", func(s string) string { return "\u3000\u3000\u3000" + s }},
	{"no-break and em spaces", func(s string) string { return "\u00a0" + s + "\u2003\u2009" }},
	{"full-width letters", fullWidth},
	{"full-width upper case", func(s string) string { return fullWidth(strings.ToUpper(s)) }},
	{"Kelvin sign for k", func(s string) string { return strings.Replace(s, "k", "\u212a", 1) }},
	{"long s for s", func(s string) string { return strings.Replace(s, "s", "\u017f", 1) }},
	{"mixed", func(s string) string { return "\u3000" + fullWidth(s[:2]) + strings.ToUpper(s[2:]) + "\u00a0" }},
}

// TestAuthLimitKeysByCanonicalName: however a username is written, an
// attempt counts against that username's one bucket, for the API's and
// the forms' log-in and sign-up alike.
func TestAuthLimitKeysByCanonicalName(t *testing.T) {
	const perUser = 3
	surfaces := []struct {
		name    string
		attempt func(ts *testServer, username string) int
	}{
		{"API log-in", func(ts *testServer, name string) int {
			return ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "wrong password"}).status
		}},
		{"API sign-up", func(ts *testServer, name string) int {
			return ts.do("POST", "/api/v1/auth/signup", "", map[string]string{"username": name, "password": "correct horse"}).status
		}},
		{"form log-in", func(ts *testServer, name string) int {
			v := ts.visitor()
			v.get("/login")
			return v.post("/login", url.Values{"username": {name}, "password": {"wrong password"}}, false).status
		}},
		{"form sign-up", func(ts *testServer, name string) int {
			v := ts.visitor()
			v.get("/signup")
			return v.post("/signup", url.Values{"username": {name}, "password": {"correct horse"}}, false).status
		}},
	}
	hash, _ := argon2id.CreateHash("correct horse", cheap)
	for _, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			ts := newServer(t, web.Config{AuthPerIP: 1 << 20, AuthPerUser: perUser})
			for i, v := range nameVariants {
				base := fmt.Sprintf("kasia%c", 'a'+i)
				if _, err := store.Exec(context.Background(), ts.st, store.CreateUser{Meta: store.At(time.Now()), Username: base, PasswordHash: hash}); err != nil {
					t.Fatal(err)
				}
				t.Run(v.name, func(t *testing.T) {
					for n := range perUser {
						if st := sf.attempt(ts, base); st == http.StatusTooManyRequests {
							t.Fatalf("attempt %d of %d refused already", n+1, perUser)
						}
					}
					written := v.of(base)
					if store.UsernameKey(written) != base {
						t.Fatalf("the variant %q is not a way of writing %s", written, base)
					}
					if st := sf.attempt(ts, written); st != http.StatusTooManyRequests {
						t.Fatalf("%q after %d attempts as %s: %d, want 429", written, perUser, base, st)
					}
				})
			}
			// Another name has its own bucket.
			if st := sf.attempt(ts, "someone"); st == http.StatusTooManyRequests {
				t.Fatalf("another name was limited: %d", st)
			}
		})
	}
}
