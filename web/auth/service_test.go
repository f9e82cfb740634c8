package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/golang-jwt/jwt/v5"

	"aperture/store"
	"aperture/store/storetest"
	"aperture/web/auth"
)

// cheap argon2 parameters keep tests fast; the hashing code path is the same.
var cheap = &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type fixture struct {
	st   *store.Store
	svc  *auth.Service
	keys auth.FileKeys
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := storetest.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys := auth.FileKeys(filepath.Join(dir, "keys", "jwt.json"))
	svc, err := auth.NewService(st, keys, auth.Config{Argon2: cheap}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, svc: svc, keys: keys}
}

func (f *fixture) signup(t *testing.T, name string) *auth.Grant {
	t.Helper()
	g, err := f.svc.SignUp(context.Background(), auth.SignUp{Username: name, Password: "correct horse"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestKeyFileIsPrivate(t *testing.T) {
	f := newFixture(t)
	fi, err := os.Stat(string(f.keys))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
}

func TestAccessTokenRefusals(t *testing.T) {
	f := newFixture(t)
	g := f.signup(t, "alice")
	if c, err := f.svc.Authenticate(g.AccessToken, t0.Add(time.Minute)); err != nil || c.UserID != g.User.ID || c.SessionID != g.SessionID {
		t.Fatalf("valid token refused: %v %v", c, err)
	}
	// Verified once and remembered, it still expires on time.
	if _, err := f.svc.Authenticate(g.AccessToken, t0.Add(16*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("a remembered token outlived its expiry: %v", err)
	}
	parts := strings.Split(g.AccessToken, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	enc := base64.RawURLEncoding.EncodeToString

	// alg: none, with the same claims and no signature.
	noneHeader := strings.Replace(string(header), `"HS256"`, `"none"`, 1)
	algNone := enc([]byte(noneHeader)) + "." + parts[1] + "."

	// HS256 signed with a key aperture never had.
	kid := jwtHeader(t, g.AccessToken)
	sign := func(claims jwt.MapClaims, key []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := jwt.MapClaims{"iss": "aperture", "sub": g.User.ID.String(), "sid": g.SessionID.String(), "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}
	wrongKey := sign(claims, []byte("0123456789abcdef0123456789abcdef"))

	// A tampered payload: another user's ID under the original signature.
	tampered := parts[0] + "." + enc([]byte(strings.Replace(string(payload), g.User.ID.String(), "12345", 1))) + "." + parts[2]

	cases := map[string]struct {
		token string
		at    time.Time
	}{
		"alg none":         {algNone, t0},
		"wrong key":        {wrongKey, t0},
		"tampered payload": {tampered, t0},
		"expired":          {g.AccessToken, t0.Add(16 * time.Minute)},
		"garbage":          {"not.a.jwt", t0},
		"empty":            {"", t0},
		"huge":             {strings.Repeat("a", 10000), t0},
	}
	// Tokens the real key signs but with claims aperture never issues.
	realKey := currentSecret(t, f)
	noExp := jwt.MapClaims{"iss": "aperture", "sub": g.User.ID.String(), "sid": g.SessionID.String(), "iat": t0.Unix()}
	cases["no exp"] = struct {
		token string
		at    time.Time
	}{sign(noExp, realKey), t0}
	otherIss := jwt.MapClaims{"iss": "elsewhere", "sub": g.User.ID.String(), "sid": g.SessionID.String(), "exp": t0.Add(time.Hour).Unix()}
	cases["other issuer"] = struct {
		token string
		at    time.Time
	}{sign(otherIss, realKey), t0}
	// The control: the same forging helper with the real key and proper
	// claims is accepted, so the refusals above are for the stated reason.
	if _, err := f.svc.Authenticate(sign(claims, realKey), t0); err != nil {
		t.Fatalf("control token refused: %v", err)
	}

	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := f.svc.Authenticate(tc.token, tc.at); !errors.Is(err, store.ErrUnauthorized) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

func TestLogoutStopsAccessTokenAtOnce(t *testing.T) {
	f := newFixture(t)
	g := f.signup(t, "bob")
	if err := f.svc.Logout(context.Background(), g.SessionID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(g.AccessToken, t0.Add(2*time.Second)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("token of a logged-out session accepted: %v", err)
	}
	if _, err := f.svc.Refresh(context.Background(), g.RefreshToken, t0.Add(3*time.Second)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("refresh of a logged-out session accepted: %v", err)
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.signup(t, "carol")
	g2, err := f.svc.Refresh(ctx, g.RefreshToken, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if g2.RefreshToken == g.RefreshToken || g2.SessionID != g.SessionID {
		t.Fatal("refresh did not rotate")
	}
	if _, err := f.svc.Authenticate(g2.AccessToken, t0.Add(time.Minute)); err != nil {
		t.Fatalf("new access token refused: %v", err)
	}
	// The spent token is presented again (a thief, or a replay).
	if _, err := f.svc.Refresh(ctx, g.RefreshToken, t0.Add(2*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("spent refresh token accepted: %v", err)
	}
	// Both holders are out: the rotated refresh token and both access tokens.
	if _, err := f.svc.Refresh(ctx, g2.RefreshToken, t0.Add(3*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("rotated refresh token still works after reuse: %v", err)
	}
	for i, tok := range []string{g.AccessToken, g2.AccessToken} {
		if _, err := f.svc.Authenticate(tok, t0.Add(3*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
			t.Fatalf("access token %d still works after reuse: %v", i, err)
		}
	}
	for _, bad := range []string{"", "x", "123.abc", strings.Repeat("9", 30) + "." + strings.Repeat("a", 43)} {
		if _, err := f.svc.Refresh(ctx, bad, t0); !errors.Is(err, store.ErrUnauthorized) {
			t.Fatalf("refresh %q: %v", bad, err)
		}
	}
}

func TestLoginSameErrorForUnknownUserAndWrongPassword(t *testing.T) {
	f := newFixture(t)
	f.signup(t, "dave")
	ctx := context.Background()
	_, e1 := f.svc.Login(ctx, "dave", "wrong password", "", t0)
	_, e2 := f.svc.Login(ctx, "nobody", "wrong password", "", t0)
	if !errors.Is(e1, store.ErrUnauthorized) || e1.Error() != e2.Error() {
		t.Fatalf("wrong password %q, unknown user %q", e1, e2)
	}
	g, err := f.svc.Login(ctx, "DAVE", "correct horse", "", t0)
	if err != nil || g.User.Username != "dave" {
		t.Fatalf("login: %v", err)
	}
}

func TestKeyRotationKeepsVerifyingUntilExpiry(t *testing.T) {
	f := newFixture(t)
	g := f.signup(t, "erin")
	if err := f.svc.Tokens().Keys.Rotate(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(g.AccessToken, t0.Add(10*time.Minute)); err != nil {
		t.Fatalf("token of the retired key refused before expiry: %v", err)
	}
	// A service started later from the same key file still verifies it.
	svc2, err := auth.NewService(f.st, f.keys, auth.Config{Argon2: cheap}, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc2.Authenticate(g.AccessToken, t0.Add(10*time.Minute)); err != nil {
		t.Fatalf("retired key lost across restart: %v", err)
	}
	newTok, _, _ := svc2.Tokens().Sign(g.User.ID, g.SessionID, t0.Add(2*time.Minute))
	if jwtHeader(t, newTok) == jwtHeader(t, g.AccessToken) {
		t.Fatal("rotation did not change the signing key")
	}
	// Once every token it signed has expired, the retired key is dropped
	// from the ring: even a clock set back cannot revive its tokens.
	if err := f.svc.Tokens().Keys.Rotate(t0.Add(40 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Tokens().Parse(g.AccessToken, t0.Add(14*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("a dropped key still verifies: %v", err)
	}
}

func jwtHeader(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := p.Header["kid"].(string)
	return kid
}

func currentSecret(t *testing.T, f *fixture) []byte {
	t.Helper()
	keys, err := f.keys.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ks []auth.Key
	if err := json.Unmarshal(keys, &ks); err != nil {
		t.Fatal(err)
	}
	return ks[0].Secret
}

// TestSuspensionEndsSessions: suspending or deleting an account ends
// every session it has, in memory at once: its access tokens are
// refused, a refresh is refused without extending the session, and
// lifting the suspension does not bring the old sessions back (a new
// log-in works).
func TestSuspensionEndsSessions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(f *fixture, admin, user store.ID) error
		lift bool
	}{
		{"suspended", func(f *fixture, admin, user store.ID) error {
			_, err := store.Exec(ctx, f.st, store.SetSuspended{Meta: store.At(t0.Add(time.Minute)), AdminID: admin, UserID: user, Suspended: true})
			return err
		}, true},
		{"deleted by an administrator", func(f *fixture, admin, user store.ID) error {
			_, err := store.Exec(ctx, f.st, store.DeleteAccount{Meta: store.At(t0.Add(time.Minute)), ActorID: admin, UserID: user})
			return err
		}, false},
		{"deleted by itself", func(f *fixture, _, user store.ID) error {
			_, err := store.Exec(ctx, f.st, store.DeleteAccount{Meta: store.At(t0.Add(time.Minute)), ActorID: user, UserID: user})
			return err
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			admin, err := f.svc.SignUp(ctx, auth.SignUp{Username: "boss", Password: "correct horse", Admin: true}, t0)
			if err != nil {
				t.Fatal(err)
			}
			g := f.signup(t, "mallory")
			other, err := f.svc.Login(ctx, "mallory", "correct horse", "", t0)
			if err != nil {
				t.Fatal(err)
			}
			// Both sessions are known to memory before the change.
			for _, gr := range []*auth.Grant{g, other} {
				if _, err := f.svc.Authenticate(gr.AccessToken, t0.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tc.end(f, admin.User.ID, g.User.ID); err != nil {
				t.Fatal(err)
			}
			refused := func(when string, at time.Time) {
				t.Helper()
				for _, gr := range []*auth.Grant{g, other} {
					if _, err := f.svc.Authenticate(gr.AccessToken, at); !errors.Is(err, store.ErrUnauthorized) {
						t.Fatalf("%s: access token: %v", when, err)
					}
					before, _ := f.st.Session(gr.SessionID)
					if _, err := f.svc.Refresh(ctx, gr.RefreshToken, at); !errors.Is(err, store.ErrUnauthorized) {
						t.Fatalf("%s: refresh: %v", when, err)
					}
					if after, _ := f.st.Session(gr.SessionID); !after.ExpiresAt.Equal(before.ExpiresAt) {
						t.Fatalf("%s: a refused refresh extended the session to %v", when, after.ExpiresAt)
					}
				}
			}
			refused("ended", t0.Add(2*time.Minute))
			if !tc.lift {
				return
			}
			if _, err := store.Exec(ctx, f.st, store.SetSuspended{Meta: store.At(t0.Add(3 * time.Minute)), AdminID: admin.User.ID, UserID: g.User.ID}); err != nil {
				t.Fatal(err)
			}
			refused("lifted", t0.Add(4*time.Minute))
			fresh, err := f.svc.Login(ctx, "mallory", "correct horse", "", t0.Add(5*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Authenticate(fresh.AccessToken, t0.Add(6*time.Minute)); err != nil {
				t.Fatalf("a new session after the suspension: %v", err)
			}
			if _, err := f.svc.Refresh(ctx, fresh.RefreshToken, t0.Add(6*time.Minute)); err != nil {
				t.Fatalf("refreshing a new session: %v", err)
			}
		})
	}
}
