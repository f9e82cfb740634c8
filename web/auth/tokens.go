package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"aperture/store"
)

// Issuer is the "iss" claim of every access token.
const Issuer = "aperture"

// Claims are what an access token says.
type Claims struct {
	UserID    store.ID
	SessionID store.ID
	Expires   time.Time
}

type jwtClaims struct {
	SID string `json:"sid"`
	jwt.RegisteredClaims
}

// Tokens signs and checks access tokens.
type Tokens struct {
	Keys *Keyring
	TTL  time.Duration // access-token lifetime (15 minutes)
}

// Sign returns a compact HS256 JWT for the user and session, valid for the
// TTL from now, and its expiry.
func (t *Tokens) Sign(user, session store.ID, now time.Time) (string, time.Time, error) {
	k := t.Keys.current()
	exp := now.Add(t.TTL)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		SID: session.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   user.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(k.Secret)
	return s, exp, err
}

var errBadToken = store.Errorf(store.ErrUnauthorized, "Your access token is invalid or has expired; sign in again or refresh it.")

// Parse verifies an access token at time now: HS256 only, a known and
// still valid key ID, the aperture issuer, an expiry that has not passed.
// It returns an ErrUnauthorized error for anything else. It does not check
// whether the session is still open (see Sessions).
func (t *Tokens) Parse(token string, now time.Time) (Claims, error) {
	if len(token) > 4096 {
		return Claims{}, errBadToken
	}
	var c jwtClaims
	_, err := jwt.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		k, ok := t.Keys.verifying(kid, now)
		if !ok {
			return nil, errBadToken
		}
		return k.Secret, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(Issuer),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return Claims{}, errBadToken
	}
	uid, err1 := store.ParseID(c.Subject)
	sid, err2 := store.ParseID(c.SID)
	if err1 != nil || err2 != nil {
		return Claims{}, errBadToken
	}
	return Claims{UserID: uid, SessionID: sid, Expires: c.ExpiresAt.Time}, nil
}

// NewRefreshSecret returns the random part of a refresh token (256 bits,
// base64url) and the SHA-256 hash under which the store keeps it.
func NewRefreshSecret() (secret string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

// RefreshToken returns the refresh token handed to the client:
// "<session id>.<secret>", so the session is found without a lookup table.
func RefreshToken(session store.ID, secret string) string {
	return session.String() + "." + secret
}

// SplitRefresh returns the session a refresh token belongs to and the hash
// of its secret, or an ErrUnauthorized error if the token is not of
// aperture's form.
func SplitRefresh(token string) (store.ID, []byte, error) {
	sid, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) != 43 || len(token) > 80 {
		return 0, nil, errBadRefresh
	}
	id, err := store.ParseID(sid)
	if err != nil {
		return 0, nil, errBadRefresh
	}
	return id, hashSecret(secret), nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

var errBadRefresh = store.Errorf(store.ErrUnauthorized, "Your session has ended; sign in again.")
