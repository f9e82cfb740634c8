package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"aperture/web/auth"
)

// The browser carries its session in cookies: the access and refresh
// tokens (HttpOnly, so no script can read them) and a random nonce that
// CSRF tokens are derived from.
const (
	cookieAccess  = "ap_at"
	cookieRefresh = "ap_rt"
	cookieNonce   = "ap_n"
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf"
	sessionMaxAge = 30 * 24 * time.Hour // the refresh token's lifetime
)

// cookies sets, clears and checks the browser's session cookies and CSRF
// tokens. A CSRF token is HMAC(key, nonce): pages embed it, and a
// state-changing request by cookie must send it back (form field or
// X-CSRF-Token header) with the nonce cookie it was derived from, which a
// cross-site page can neither read nor forge.
type cookies struct {
	key    []byte
	secure bool
	// refreshed remembers recent refreshes by the spent token for a short
	// while, so that parallel requests arriving with the same expired
	// access token share one refresh instead of racing and tripping reuse
	// detection, which would sign the session out.
	mu        sync.Mutex
	refreshed map[string]refreshed
}

type refreshed struct {
	grant *auth.Grant
	at    time.Time
}

const refreshGrace = 30 * time.Second

func newCookies(mediaKey []byte, secure bool) *cookies {
	m := hmac.New(sha256.New, mediaKey)
	m.Write([]byte("aperture csrf v1"))
	return &cookies{key: m.Sum(nil), secure: secure, refreshed: map[string]refreshed{}}
}

func (k *cookies) set(c *fiber.Ctx, name, value string, maxAge time.Duration) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		Secure: k.secure, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode})
}

// signIn stores a grant's tokens in the browser.
func (k *cookies) signIn(c *fiber.Ctx, g *auth.Grant) {
	k.set(c, cookieAccess, g.AccessToken, sessionMaxAge)
	k.set(c, cookieRefresh, g.RefreshToken, sessionMaxAge)
}

// signOut removes the tokens.
func (k *cookies) signOut(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: cookieAccess, Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true, Secure: k.secure, SameSite: fiber.CookieSameSiteLaxMode})
	c.Cookie(&fiber.Cookie{Name: cookieRefresh, Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true, Secure: k.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// token returns the request's CSRF token, giving the browser a nonce
// first if it has none.
func (k *cookies) token(c *fiber.Ctx) string {
	n := c.Cookies(cookieNonce)
	if len(n) != 32 {
		var b [16]byte
		rand.Read(b[:])
		n = hex.EncodeToString(b[:])
		k.set(c, cookieNonce, n, 365*24*time.Hour)
		// Later reads in this request see the new nonce.
		c.Request().Header.SetCookie(cookieNonce, n)
	}
	return k.derive(n)
}

func (k *cookies) derive(nonce string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// validCSRF reports whether a state-changing request carries the token
// of its nonce cookie.
func (k *cookies) validCSRF(c *fiber.Ctx) bool {
	n := c.Cookies(cookieNonce)
	if len(n) != 32 {
		return false
	}
	got := c.Get(csrfHeader)
	if got == "" {
		got = c.FormValue(csrfField)
	}
	return hmac.Equal([]byte(got), []byte(k.derive(n)))
}

// refresh spends the refresh token once per grace period and returns the
// grant.
func (k *cookies) refresh(c *fiber.Ctx, svc *auth.Service, token string, now time.Time) (*auth.Grant, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r, ok := k.refreshed[token]; ok && now.Sub(r.at) < refreshGrace {
		return r.grant, nil
	}
	for t, r := range k.refreshed {
		if now.Sub(r.at) >= refreshGrace {
			delete(k.refreshed, t)
		}
	}
	g, err := svc.Refresh(c.UserContext(), token, now)
	if err != nil {
		return nil, err
	}
	k.refreshed[token] = refreshed{grant: g, at: now}
	return g, nil
}

// cookieSession signs in a request that carries no bearer token from its
// cookies, refreshing an expired access token with the refresh cookie.
// Requests signed in this way are marked, so that the API requires a CSRF
// token of their state-changing calls.
func (s *Server) cookieSession(c *fiber.Ctx) error {
	ri := requestInfo(c)
	at, rt := c.Cookies(cookieAccess), c.Cookies(cookieRefresh)
	if at == "" && rt == "" {
		return c.Next()
	}
	claims, err := s.auth.Authenticate(at, ri.start)
	if err != nil && rt != "" {
		var g *auth.Grant
		if g, err = s.cookies.refresh(c, s.auth, rt, ri.start); err == nil {
			s.cookies.signIn(c, g)
			claims, err = s.auth.Authenticate(g.AccessToken, ri.start)
		}
	}
	if err != nil {
		s.cookies.signOut(c)
		return c.Next()
	}
	ri.claims, ri.authed, ri.byCookie = claims, true, true
	return c.Next()
}

// unsafeMethod reports whether a method changes state.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}
