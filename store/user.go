package store

import (
	"context"
	"errors"
	"hash/fnv"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// User is an account. PasswordHash is an argon2id PHC string and never
// leaves the server.
type User struct {
	ID            ID           `json:"id"`
	Username      string       `json:"username"`
	DisplayName   string       `json:"display_name"`
	Bio           string       `json:"bio"`
	Website       string       `json:"website"`
	Email         string       `json:"email"`
	Private       bool         `json:"private"`
	Admin         bool         `json:"admin"`
	Suspended     bool         `json:"suspended,omitempty"` // hidden from everyone, may not sign in
	Deleted       bool         `json:"deleted,omitempty"`   // being (or been) purged; also Suspended
	Prefs         *Preferences `json:"prefs,omitempty"`     // what is pushed; nil: everything, any time
	AvatarMediaID ID           `json:"avatar_media_id,omitempty"`
	PasswordHash  string       `json:"password_hash"`
	Counts        Counts       `json:"counts"`
	ActivitySeen  ID           `json:"activity_seen,omitempty"` // newest activity marked read
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	// SessionsEndedAt ends every session started until then: set when
	// the account is suspended or deleted.
	SessionsEndedAt time.Time `json:"sessions_ended_at,omitzero"`
}

// SessionEnded reports whether a session of the account started at
// created may no longer be used: the account is suspended or deleted, or
// its sessions were ended after that session began.
func (u *User) SessionEnded(created time.Time) bool {
	return u.Suspended || !created.After(u.SessionsEndedAt)
}

// Counts are kept in the user record and changed in the same transaction
// as the facts they count.
type Counts struct {
	Posts     int64 `json:"posts"`
	Followers int64 `json:"followers"`
	Following int64 `json:"following"`
}

// Limits on profile fields.
const (
	MaxUsername    = 30
	MaxDisplayName = 64
	MaxBio         = 150
	MaxWebsite     = 200
	MaxEmail       = 254
	MinPassword    = 8
	MaxPassword    = 128
)

// reserved are names that would collide with routes or mislead people.
var reserved = map[string]bool{
	"admin": true, "administrator": true, "api": true, "media": true, "static": true,
	"assets": true, "about": true, "accounts": true, "activity": true, "explore": true,
	"feed": true, "login": true, "logout": true, "signup": true, "settings": true,
	"search": true, "tags": true, "places": true, "map": true, "p": true, "u": true,
	"new": true, "me": true, "root": true, "support": true, "help": true, "aperture": true,
	"healthz": true, "readyz": true, "metrics": true, "www": true, "null": true, "undefined": true,
}

// maxKeyRunes bounds the names UsernameKey normalises: no more than
// MaxUsername characters can make a username (normalising never removes
// a character), so longer ones are left as they are, cheaply.
const maxKeyRunes = 64

// UsernameKey returns the canonical form of a username, the one accounts
// are found by: compatibility-normalised (NFKC: full-width letters, the
// Kelvin sign and other look-alikes of ASCII become ASCII, and every
// Unicode space a plain one), trimmed of spaces, and in lower case.
// Every lookup of an account by name uses it, and so must anything that
// counts attempts per username (a rate limit keyed otherwise could be
// sidestepped by writing the same name differently). A name of more than
// 64 characters after trimming belongs to no account; it comes back
// trimmed and cut to 64 characters, unnormalised, so that its cost stays
// small however long the input.
func UsernameKey(name string) string {
	n := strings.TrimSpace(name)
	if utf8.RuneCountInString(n) > maxKeyRunes {
		cut := 0
		for range maxKeyRunes {
			_, size := utf8.DecodeRuneInString(n[cut:])
			cut += size
		}
		return n[:cut]
	}
	return strings.ToLower(strings.TrimSpace(norm.NFKC.String(n)))
}

// NormalizeUsername returns the canonical form (UsernameKey) of a
// username, or an ErrInvalid error that says what rule it breaks:
// 1–30 of a–z, 0–9, '.', '_', not starting or ending with '.', no "..",
// and not a reserved name.
func NormalizeUsername(name string) (string, error) {
	n := UsernameKey(name)
	switch {
	case n == "":
		return "", Invalid("username", "Choose a username.")
	case len(n) > MaxUsername:
		return "", Invalid("username", "Usernames can have at most %d characters.", MaxUsername)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return "", Invalid("username", "Usernames can only use letters, numbers, underscores and periods.")
		}
	}
	if n[0] == '.' || n[len(n)-1] == '.' || strings.Contains(n, "..") {
		return "", Invalid("username", "Usernames can't start or end with a period or have two periods in a row.")
	}
	if reserved[n] {
		return "", Invalid("username", "The username %q is reserved; choose another.", n)
	}
	return n, nil
}

// CheckPassword returns an ErrInvalid error unless the password has 8–128
// characters.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPassword || n > MaxPassword {
		return Invalid("password", "Passwords need %d to %d characters.", MinPassword, MaxPassword)
	}
	return nil
}

// ShardForUsername returns the shard a new account with this (normalized)
// username lives on: a hash, so accounts spread evenly and the choice is
// made before the command, never inside apply.
func ShardForUsername(name string) uint16 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return uint16(h.Sum32() % Shards)
}

// CreateUser signs up an account. Its result is the new *User. It fails
// with ErrConflict if the username is taken in any case, and ErrInvalid if
// a field breaks its rules. Before it reaches its partition, Exec claims
// the username in the global facts (and, for a sign-up on an invite-only
// instance, spends the invitation); the claim points at the account once
// it exists, and is given back if the command fails.
type CreateUser struct {
	Meta
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"`
	Email        string `json:"email"`
	DisplayName  string `json:"display_name"`
	Admin        bool   `json:"admin"`
	// SignUp applies the instance's registration policy (the web's
	// sign-up); Invite is the invitation code an invite-only instance
	// needs, spent by the sign-up.
	SignUp bool   `json:"sign_up,omitempty"`
	Invite string `json:"invite,omitempty"`
}

// Shard returns the account's shard, fixed here for its lifetime: a hash
// of the username as it is stored.
func (c CreateUser) Shard() uint16 {
	return ShardForUsername(UsernameKey(c.Username))
}

func (c CreateUser) prepare(_ context.Context, s *Store) (Command[*User], func(*User, error) (*User, error), error) {
	name, err := NormalizeUsername(c.Username)
	if err != nil {
		return nil, nil, err
	}
	if c.PasswordHash == "" {
		return nil, nil, Invalid("password", "Choose a password.")
	}
	var u User
	if err := u.setEmail(c.Email); err != nil {
		return nil, nil, err
	}
	if err := u.setDisplayName(c.DisplayName); err != nil {
		return nil, nil, err
	}
	refund := func() {}
	if c.SignUp {
		if refund, err = s.admit(c.Invite); err != nil {
			return nil, nil, err
		}
	}
	rev, err := s.claimUsername(name, c.At)
	if err != nil {
		refund()
		return nil, nil, err
	}
	c.Username = name
	return c, func(u *User, err error) (*User, error) {
		if err == nil {
			err = s.bindUsername(name, u.ID, rev, c.At)
		}
		if err != nil {
			s.releaseUsername(name, rev)
			refund()
			return nil, err
		}
		return u, nil
	}, nil
}

func (c CreateUser) apply(tx *Tx) (*User, error) {
	name, err := NormalizeUsername(c.Username)
	if err != nil {
		return nil, err
	}
	if c.PasswordHash == "" {
		return nil, Invalid("password", "Choose a password.")
	}
	u := &User{Username: name, PasswordHash: c.PasswordHash, Admin: c.Admin, CreatedAt: tx.now, UpdatedAt: tx.now}
	if err := u.setEmail(c.Email); err != nil {
		return nil, err
	}
	if err := u.setDisplayName(c.DisplayName); err != nil {
		return nil, err
	}
	if u.ID, err = tx.NewID(c.Shard()); err != nil {
		return nil, err
	}
	if err := tx.enqueue(JobIndexUser, IndexJob{ID: u.ID}); err != nil {
		return nil, err
	}
	return u, tx.put(bUsers, u.ID.key(), u)
}

// UpdateProfile changes the fields that are not nil. Its result is the
// updated *User. It fails with ErrNotFound for an unknown user and
// ErrInvalid for a field that breaks its rules.
type UpdateProfile struct {
	Meta
	UserID        ID      `json:"user_id"`
	DisplayName   *string `json:"display_name,omitempty"`
	Bio           *string `json:"bio,omitempty"`
	Website       *string `json:"website,omitempty"`
	Email         *string `json:"email,omitempty"`
	Private       *bool   `json:"private,omitempty"`
	AvatarMediaID *ID     `json:"avatar_media_id,omitempty"`
}

// Shard returns the user's shard.
func (c UpdateProfile) Shard() uint16 { return c.UserID.Shard() }

func (c UpdateProfile) apply(tx *Tx) (*User, error) {
	u, err := tx.user(c.UserID)
	if err != nil {
		return nil, err
	}
	if c.DisplayName != nil {
		if err := u.setDisplayName(*c.DisplayName); err != nil {
			return nil, err
		}
	}
	if c.Bio != nil {
		bio := strings.TrimSpace(*c.Bio)
		if utf8.RuneCountInString(bio) > MaxBio {
			return nil, Invalid("bio", "Bios can have at most %d characters.", MaxBio)
		}
		u.Bio = bio
	}
	if c.Website != nil {
		w, err := normalizeWebsite(*c.Website)
		if err != nil {
			return nil, err
		}
		u.Website = w
	}
	if c.Email != nil {
		if err := u.setEmail(*c.Email); err != nil {
			return nil, err
		}
	}
	was := standingOf(u)
	if c.Private != nil {
		u.Private = *c.Private
	}
	if c.AvatarMediaID != nil && *c.AvatarMediaID != u.AvatarMediaID {
		if err := tx.setAvatar(u, *c.AvatarMediaID); err != nil {
			return nil, err
		}
	}
	u.UpdatedAt = tx.now
	if c.DisplayName != nil || c.Bio != nil || c.Private != nil {
		if err := tx.enqueue(JobIndexUser, IndexJob{ID: u.ID}); err != nil {
			return nil, err
		}
	}
	if err := tx.put(bUsers, u.ID.key(), u); err != nil {
		return nil, err
	}
	// Going private takes the account's posts out of the public counts
	// (tags, places, the map); going public puts them in.
	return u, tx.restand(u, was)
}

func (u *User) setDisplayName(s string) error {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxDisplayName || strings.ContainsAny(s, "\n\r\t") {
		return Invalid("display_name", "Names can have at most %d characters on one line.", MaxDisplayName)
	}
	u.DisplayName = s
	return nil
}

func (u *User) setEmail(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		u.Email = ""
		return nil
	}
	at := strings.LastIndexByte(s, '@')
	if len(s) > MaxEmail || at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>") {
		return Invalid("email", "Enter an email address like name@example.org.")
	}
	u.Email = s
	return nil
}

func normalizeWebsite(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > MaxWebsite {
		return "", Invalid("website", "Enter a web address like https://example.org (at most %d characters).", MaxWebsite)
	}
	return u.String(), nil
}

// user reads one user inside a transaction. In a read transaction the
// result is shared: callers must not change it.
func (t *Tx) user(id ID) (*User, error) {
	if u, ok := t.users[id]; ok {
		return u, nil
	}
	u := new(User)
	if err := t.get(bUsers, id.key(), u, "That account"); err != nil {
		return nil, err
	}
	if t.users != nil {
		t.users[id] = u
	}
	return u, nil
}

// User returns the account with this ID, or ErrNotFound.
func (s *Store) User(id ID) (*User, error) {
	var u *User
	err := s.view(func(tx *Tx) (err error) { u, err = tx.user(id); return })
	return u, err
}

// UserByUsername returns the account with this username in any case, or
// ErrNotFound.
func (s *Store) UserByUsername(name string) (*User, error) {
	id, err := s.UserID(name)
	if err != nil {
		return nil, err
	}
	u, err := s.User(id)
	if errors.Is(err, ErrNotFound) && s.opt.Router != nil {
		// The name is taken (a global fact), but this node's replica of
		// the account's partition may not have the account yet.
		if err := s.synced(id); err != nil {
			return nil, err
		}
		u, err = s.User(id)
	}
	return u, err
}

// setAvatar makes one of the user's unattached photos their avatar (0 for
// none). The avatar no longer expires; the previous one expires at the
// next sweep.
func (t *Tx) setAvatar(u *User, id ID) error {
	if id != 0 {
		m := new(Media)
		if !t.local(id) || t.get(bMedia, id.key(), m, "That photo") != nil || m.OwnerID != u.ID || m.PostID != 0 {
			return Invalid("avatar_media_id", "Choose one of your own new uploads as your picture.")
		}
		if err := t.unmark(bMediaAge, ageKey(m.CreatedAt, id)); err != nil {
			return err
		}
	}
	if old := u.AvatarMediaID; old != 0 && t.has(bMedia, old.key()) {
		if err := t.mark(bMediaAge, ageKey(time.Unix(0, 0), old), nil); err != nil {
			return err
		}
	}
	u.AvatarMediaID = id
	return nil
}
