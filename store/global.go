package store

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// The global facts, kept in the KV rather than in a partition: which
// account owns a username (unique by compare-and-swap), the instance
// settings, and unspent invitation codes.
//
// Keys: "user/<name>" → nameClaim; "settings" → Settings; "invite/<code>".

// nameClaim is a username's entry: the account's ID once it exists. A
// claim without an ID is a sign-up in flight; one older than claimTTL
// was abandoned (the process stopped between the claim and the account)
// and may be taken again.
type nameClaim struct {
	ID ID    `json:"id,omitempty"`
	At int64 `json:"at"` // when claimed (ms)
}

const claimTTL = time.Minute

// claimUsername reserves name for a sign-up at time now and returns the
// claim's revision. It fails with ErrConflict when the name is taken or a
// sign-up for it is in flight.
func (s *Store) claimUsername(name string, now time.Time) (uint64, error) {
	taken := Errorf(ErrConflict, "The username %q is taken; choose another.", name)
	v, _ := json.Marshal(nameClaim{At: now.UnixMilli()})
	rev, err := s.kv.Create("user/"+name, v)
	if !errors.Is(err, ErrConflict) {
		return rev, err
	}
	cur, curRev, err := s.kv.Get("user/" + name)
	if err != nil {
		return 0, taken
	}
	var c nameClaim
	if json.Unmarshal(cur, &c) != nil || c.ID != 0 || now.UnixMilli()-c.At < claimTTL.Milliseconds() {
		return 0, taken
	}
	rev, err = s.kv.Update("user/"+name, v, curRev)
	if err != nil {
		return 0, taken
	}
	return rev, nil
}

// bindUsername points a claimed name at the account made for it.
func (s *Store) bindUsername(name string, id ID, rev uint64, now time.Time) error {
	v, _ := json.Marshal(nameClaim{ID: id, At: now.UnixMilli()})
	_, err := s.kv.Update("user/"+name, v, rev)
	return err
}

// releaseUsername gives up a claim whose sign-up failed.
func (s *Store) releaseUsername(name string, rev uint64) {
	s.kv.Delete("user/"+name, rev)
}

// lookupUsername returns the ID of the account called name (normalized),
// or ErrNotFound.
func (s *Store) lookupUsername(name string) (ID, error) {
	v, _, err := s.kv.Get("user/" + name)
	if err != nil {
		return 0, Errorf(ErrNotFound, "There is no account called %q.", truncate(name, 40))
	}
	var c nameClaim
	if json.Unmarshal(v, &c) != nil || c.ID == 0 {
		return 0, Errorf(ErrNotFound, "There is no account called %q.", truncate(name, 40))
	}
	return c.ID, nil
}

// UserID returns the ID of the account with this username in any case,
// or ErrNotFound.
func (s *Store) UserID(name string) (ID, error) {
	return s.lookupUsername(UsernameKey(name))
}

// Settings returns the instance settings (open registration by default).
func (s *Store) Settings() (Settings, error) {
	st := Settings{Registration: RegistrationOpen}
	v, _, err := s.kv.Get("settings")
	if errors.Is(err, ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, decode(v, &st)
}

// UpdateSettings changes the instance settings. Only an administrator
// may (ErrForbidden); an unknown registration policy or a limit out of
// range is ErrInvalid. It returns the settings stored.
func (s *Store) UpdateSettings(admin ID, st Settings) (Settings, error) {
	if err := s.requireAdmin(admin); err != nil {
		return Settings{}, err
	}
	switch st.Registration {
	case RegistrationOpen, RegistrationClosed, RegistrationInvite:
	default:
		return Settings{}, Invalid("registration", "Registration is open, closed or invite.")
	}
	if st.MaxUploadMB < 0 || st.MaxUploadMB > 1024 {
		return Settings{}, Invalid("max_upload_mb", "The upload limit is 0 (the server's own) to 1,024 MB.")
	}
	v, err := encode(st)
	if err != nil {
		return Settings{}, err
	}
	if _, rev, err := s.kv.Get("settings"); err == nil {
		_, err = s.kv.Update("settings", v, rev)
		return st, err
	}
	_, err = s.kv.Create("settings", v)
	return st, err
}

// CreateInvite stores an invitation code (8–64 characters, made by the
// caller) that one sign-up may spend. Only an administrator may
// (ErrForbidden); a code of the wrong length is ErrInvalid.
func (s *Store) CreateInvite(admin ID, code string) (string, error) {
	if err := s.requireAdmin(admin); err != nil {
		return "", err
	}
	if len(code) < 8 || len(code) > 64 {
		return "", Invalid("code", "An invitation code has 8 to 64 characters.")
	}
	if _, err := s.kv.Create("invite/"+code, nil); err != nil && !errors.Is(err, ErrConflict) {
		return "", err
	}
	return code, nil
}

// Invites returns the unspent invitation codes.
func (s *Store) Invites() ([]string, error) {
	keys, err := s.kv.Keys("invite/")
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, "invite/")
	}
	return keys, err
}

// admit applies the registration policy to a sign-up, spending its
// invitation code when the instance is invite-only. It returns a function
// that gives the code back if the sign-up fails after all.
func (s *Store) admit(invite string) (refund func(), err error) {
	st, err := s.Settings()
	if err != nil {
		return nil, err
	}
	switch st.Registration {
	case RegistrationClosed:
		return nil, Errorf(ErrForbidden, "Sign-up is closed on this instance; ask its administrator for an account.")
	case RegistrationInvite:
		code := strings.TrimSpace(invite)
		bad := Invalid("invite", "Sign-up on this instance needs a valid invitation code from its administrator.")
		if code == "" || len(code) > 64 {
			return nil, bad
		}
		_, rev, err := s.kv.Get("invite/" + code)
		if err != nil {
			return nil, bad
		}
		if err := s.kv.Delete("invite/"+code, rev); err != nil {
			return nil, bad // spent by another sign-up a moment ago
		}
		return func() { s.kv.Create("invite/"+code, nil) }, nil
	}
	return func() {}, nil
}

// requireAdmin returns ErrForbidden unless id is an administrator in good
// standing.
func (s *Store) requireAdmin(id ID) error {
	u, err := s.User(id)
	if err != nil || !u.Admin || u.Suspended {
		return Errorf(ErrForbidden, "Only an administrator may do that.")
	}
	return nil
}

// migrateGlobal copies the global facts that older data directories kept
// in their only partition (usernames, settings, invitations) into the KV,
// once; the partition's old buckets are dropped by its next migration.
func (s *Store) migrateGlobal() error {
	if _, _, err := s.kv.Get("migrated/partition-facts"); err == nil {
		return nil
	}
	facts := map[string][]byte{}
	err := s.viewPart(0, func(tx *Tx) error {
		if b := tx.bucket(bUsernames); b != nil {
			b.ForEach(func(k, v []byte) error {
				claim, _ := json.Marshal(nameClaim{ID: idFromKey(v)})
				facts["user/"+string(k)] = claim
				return nil
			})
		}
		if b := tx.bucket(bSettings); b != nil {
			b.ForEach(func(k, v []byte) error {
				switch {
				case string(k) == "instance":
					facts["settings"] = append([]byte(nil), v...)
				case strings.HasPrefix(string(k), "invite:"):
					facts["invite/"+strings.TrimPrefix(string(k), "invite:")] = nil
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k, v := range facts {
		if _, rev, err := s.kv.Get(k); err == nil {
			if _, err := s.kv.Update(k, v, rev); err != nil {
				return err
			}
		} else if _, err := s.kv.Create(k, v); err != nil {
			return err
		}
	}
	if _, err = s.kv.Create("migrated/partition-facts", nil); errors.Is(err, ErrConflict) {
		return nil // another node of a cluster marked it a moment ago
	}
	return err
}
