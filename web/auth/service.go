package auth

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/alexedwards/argon2id"

	"aperture/store"
)

// Config sets token lifetimes and hashing limits. Zero fields take the
// defaults in parentheses.
type Config struct {
	AccessTTL   time.Duration // access-token lifetime (15 minutes)
	RefreshTTL  time.Duration // refresh-token lifetime, renewed on each use (30 days)
	KeyRotation time.Duration // signing-key age at which it is replaced (30 days)
	// Hashers is how many password hashes may run at once, each taking
	// 19 MiB (GOMAXPROCS).
	Hashers int
	// Argon2 overrides the OWASP parameters (m=19 MiB, t=2, p=1); tests
	// use cheaper ones.
	Argon2 *argon2id.Params
}

// OWASP's argon2id recommendation.
var owasp = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Service is sign-up, log-in, refresh, logout and request authentication.
type Service struct {
	// Ended, if set, is told of every session this node ends (a logout,
	// a replayed refresh token), so that other nodes Forget it (cluster
	// mode).
	Ended func(sid store.ID)

	st        Store
	tokens    *Tokens
	sessions  *sessionCache
	cfg       Config
	hashers   chan struct{}
	dummyHash string
	verified  *verified
}

// Grant is what a successful sign-up, log-in or refresh hands the client.
type Grant struct {
	User         *store.User
	SessionID    store.ID
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
}

// NewService loads (or creates) the signing keys from keys and returns the
// service. It fails if the key file cannot be read or written.
func NewService(st Store, keys KeyStore, cfg Config, now time.Time) (*Service, error) {
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.KeyRotation <= 0 {
		cfg.KeyRotation = 30 * 24 * time.Hour
	}
	if cfg.Hashers <= 0 {
		cfg.Hashers = runtime.GOMAXPROCS(0)
	}
	if cfg.Argon2 == nil {
		cfg.Argon2 = owasp
	}
	// A retired key verifies for one token lifetime plus clock skew.
	kr, err := LoadKeyring(keys, now, cfg.AccessTTL+time.Minute)
	if err != nil {
		return nil, err
	}
	if err := kr.RotateIfOlder(now, cfg.KeyRotation); err != nil {
		return nil, err
	}
	s := &Service{st: st, cfg: cfg, tokens: &Tokens{Keys: kr, TTL: cfg.AccessTTL}, hashers: make(chan struct{}, cfg.Hashers),
		verified: &verified{m: map[string]Claims{}, max: 100_000}}
	s.sessions = newSessionCache(100_000, st.Session)
	if s.dummyHash, err = argon2id.CreateHash("aperture-dummy-password", cfg.Argon2); err != nil {
		return nil, err
	}
	return s, nil
}

// Tokens returns the access-token signer (for tests and key rotation).
func (s *Service) Tokens() *Tokens { return s.tokens }

// RotateKeysIfDue replaces the signing key when it is older than the
// configured rotation age. The server calls it periodically.
func (s *Service) RotateKeysIfDue(now time.Time) error {
	return s.tokens.Keys.RotateIfOlder(now, s.cfg.KeyRotation)
}

// SignUp is the input of SignUp.
type SignUp struct {
	Username, Password, Email, DisplayName, UserAgent string
	Admin                                             bool
	// Public marks a sign-up from the web, which the instance's
	// registration policy applies to; Invite is its invitation code.
	Public bool
	Invite string
}

// CreateUser checks the password, hashes it and creates the account. It
// returns ErrInvalid for a field that breaks its rules, ErrConflict for a
// taken username, ErrUnavailable if hashing capacity stays busy.
func (s *Service) CreateUser(ctx context.Context, in SignUp, now time.Time) (*store.User, error) {
	// The command carries the canonical name, so that applying it never
	// depends on the Unicode tables of the machine that applies it.
	name, err := store.NormalizeUsername(in.Username)
	if err != nil {
		return nil, err
	}
	if err := store.CheckPassword(in.Password); err != nil {
		return nil, err
	}
	if _, err := s.st.UserByUsername(name); err == nil {
		return nil, store.Errorf(store.ErrConflict, "The username %q is taken; choose another.", name)
	}
	hash, err := s.hash(ctx, func() (string, error) { return argon2id.CreateHash(in.Password, s.cfg.Argon2) })
	if err != nil {
		return nil, err
	}
	return store.Exec(ctx, s.st, store.CreateUser{Meta: store.At(now), Username: name, PasswordHash: hash,
		Email: in.Email, DisplayName: in.DisplayName, Admin: in.Admin, SignUp: in.Public, Invite: in.Invite})
}

// SignUp creates the account and signs it in. Errors as CreateUser.
func (s *Service) SignUp(ctx context.Context, in SignUp, now time.Time) (*Grant, error) {
	u, err := s.CreateUser(ctx, in, now)
	if err != nil {
		return nil, err
	}
	return s.startSession(ctx, u, in.UserAgent, now)
}

var errLogin = store.Errorf(store.ErrUnauthorized, "The username or password is incorrect.")

var errSuspended = store.Errorf(store.ErrForbidden, "This account is suspended. If you think that is a mistake, write to the instance's administrator.")

// Login checks the password in constant time and starts a session. An
// unknown user and a wrong password give the same ErrUnauthorized error
// after the same work.
func (s *Service) Login(ctx context.Context, username, password, userAgent string, now time.Time) (*Grant, error) {
	u, err := s.st.UserByUsername(username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hash := s.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	var match bool
	if _, err := s.hash(ctx, func() (string, error) {
		var err error
		match, err = argon2id.ComparePasswordAndHash(password, hash)
		return "", err
	}); err != nil {
		return nil, err
	}
	if u == nil || !match {
		return nil, errLogin
	}
	if u.Suspended {
		return nil, errSuspended
	}
	return s.startSession(ctx, u, userAgent, now)
}

// hash runs fn when a hashing slot is free, waiting at most 5 seconds.
func (s *Service) hash(ctx context.Context, fn func() (string, error)) (string, error) {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case s.hashers <- struct{}{}:
	case <-t.C:
		return "", store.Errorf(store.ErrUnavailable, "aperture is busy checking passwords; try again in a few seconds.")
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.hashers }()
	return fn()
}

func (s *Service) startSession(ctx context.Context, u *store.User, ua string, now time.Time) (*Grant, error) {
	secret, hash := NewRefreshSecret()
	sess, err := store.Exec(ctx, s.st, store.CreateSession{Meta: store.At(now), UserID: u.ID, RefreshHash: hash, TTL: s.cfg.RefreshTTL, UserAgent: ua})
	if err != nil {
		return nil, err
	}
	s.sessions.set(sess)
	return s.grant(u, sess, secret, now)
}

func (s *Service) grant(u *store.User, sess *store.Session, secret string, now time.Time) (*Grant, error) {
	access, _, err := s.tokens.Sign(u.ID, sess.ID, now)
	if err != nil {
		return nil, err
	}
	return &Grant{User: u, SessionID: sess.ID, AccessToken: access, RefreshToken: RefreshToken(sess.ID, secret), ExpiresIn: s.cfg.AccessTTL}, nil
}

// Refresh spends a refresh token and returns a new pair. A token spent
// before revokes its whole session. It returns ErrUnauthorized for an
// unknown, spent, expired or revoked token.
func (s *Service) Refresh(ctx context.Context, token string, now time.Time) (*Grant, error) {
	sid, oldHash, err := SplitRefresh(token)
	if err != nil {
		return nil, err
	}
	secret, newHash := NewRefreshSecret()
	sess, err := store.Exec(ctx, s.st, store.RotateRefresh{Meta: store.At(now), SessionID: sid, OldHash: oldHash, NewHash: newHash, TTL: s.cfg.RefreshTTL})
	if err != nil {
		return nil, err
	}
	s.sessions.set(sess)
	if !sess.Active(now) {
		s.ended(sid)
		return nil, store.Errorf(store.ErrUnauthorized, "This refresh token was already used, so the session was signed out to protect the account; sign in again.")
	}
	u, err := s.st.User(sess.UserID)
	if err != nil {
		return nil, err
	}
	return s.grant(u, sess, secret, now)
}

// Logout revokes the session; its access tokens stop working at once.
func (s *Service) Logout(ctx context.Context, sid store.ID, now time.Time) error {
	sess, err := store.Exec(ctx, s.st, store.RevokeSession{Meta: store.At(now), SessionID: sid})
	if err != nil {
		return err
	}
	s.sessions.set(sess)
	s.ended(sid)
	return nil
}

func (s *Service) ended(sid store.ID) {
	if s.Ended != nil {
		s.Ended(sid)
	}
}

// Forget ends a session on this node at once: another node ended it,
// and this node's store may not have applied that yet.
func (s *Service) Forget(sid store.ID) {
	s.sessions.end(sid)
}

// Authenticate checks an access token and that its session is open (see
// Valid). It returns the claims, or an ErrUnauthorized error.
func (s *Service) Authenticate(token string, now time.Time) (Claims, error) {
	c, ok := s.verified.get(token, now)
	if !ok {
		var err error
		if c, err = s.tokens.Parse(token, now); err != nil {
			return Claims{}, err
		}
		s.verified.put(token, c)
	}
	return c, s.Valid(c, now)
}

// Valid returns an ErrUnauthorized error unless the claims' session is
// still open at now: not signed out, revoked or expired (asked of memory),
// and its account neither suspended nor deleted, nor its sessions ended
// since this one began (store.User.SessionEnded). Long-lived requests,
// such as event streams, ask again as they go.
func (s *Service) Valid(c Claims, now time.Time) error {
	created, open := s.sessions.open(c.SessionID, c.UserID, now)
	if !open {
		return store.Errorf(store.ErrUnauthorized, "This session was signed out; sign in again.")
	}
	if u, err := s.st.User(c.UserID); err != nil || u.SessionEnded(created) {
		return store.Errorf(store.ErrUnauthorized, "This account is suspended or deleted, or its sessions were ended; sign in again if you can.")
	}
	return nil
}

// Store is what sessions need from the system of record: commands
// (accounts and sessions) and three reads. The store satisfies it.
type Store interface {
	store.Executor
	// User returns an account, or ErrNotFound.
	User(id store.ID) (*store.User, error)
	// UserByUsername returns the account with this name, or ErrNotFound.
	UserByUsername(name string) (*store.User, error)
	// Session returns a session, or ErrNotFound.
	Session(id store.ID) (*store.Session, error)
}
