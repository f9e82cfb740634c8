package store

import (
	"strings"
)

// Settings are the instance's own settings, changed by administrators.
type Settings struct {
	// Registration is open, closed, or invite (sign-up needs an invitation
	// code from an administrator).
	Registration string `json:"registration"`
	// MaxUploadMB lowers the server's upload limit; 0 keeps it.
	MaxUploadMB int `json:"max_upload_mb,omitempty"`
}

// Registration policies.
const (
	RegistrationOpen   = "open"
	RegistrationClosed = "closed"
	RegistrationInvite = "invite"
)

var keySettings = []byte("instance")

func (t *Tx) settings() Settings {
	st := Settings{Registration: RegistrationOpen}
	if v := t.bucket(bSettings).Get(keySettings); v != nil {
		decode(v, &st)
	}
	return st
}

// Settings returns the instance settings (open registration by default).
func (s *Store) Settings() (st Settings, err error) {
	err = s.view(func(tx *Tx) error { st = tx.settings(); return nil })
	return st, err
}

// admit applies the registration policy to a sign-up.
func (t *Tx) admit(invite string) error {
	switch t.settings().Registration {
	case RegistrationClosed:
		return Errorf(ErrForbidden, "Sign-up is closed on this instance; ask its administrator for an account.")
	case RegistrationInvite:
		key := []byte("invite:" + strings.TrimSpace(invite))
		if invite == "" || !t.has(bSettings, key) {
			return Invalid("invite", "Sign-up on this instance needs a valid invitation code from its administrator.")
		}
		return t.unmark(bSettings, key)
	}
	return nil
}

// UpdateSettings changes the instance settings. Only an administrator
// may; an unknown registration policy or a negative limit is ErrInvalid.
type UpdateSettings struct {
	Meta
	AdminID  ID       `json:"admin_id"`
	Settings Settings `json:"settings"`
}

// Shard returns 0: settings are instance-wide.
func (c UpdateSettings) Shard() uint16 { return 0 }

func (c UpdateSettings) apply(tx *Tx) (Settings, error) {
	if err := tx.requireAdmin(c.AdminID); err != nil {
		return Settings{}, err
	}
	st := c.Settings
	switch st.Registration {
	case RegistrationOpen, RegistrationClosed, RegistrationInvite:
	default:
		return Settings{}, Invalid("registration", "Registration is open, closed or invite.")
	}
	if st.MaxUploadMB < 0 || st.MaxUploadMB > 1024 {
		return Settings{}, Invalid("max_upload_mb", "The upload limit is 0 (the server's own) to 1,024 MB.")
	}
	return st, tx.put(bSettings, keySettings, st)
}

// CreateInvite stores an invitation code (made by the caller: commands
// are deterministic) that one sign-up may spend. Only an administrator
// may.
type CreateInvite struct {
	Meta
	AdminID ID     `json:"admin_id"`
	Code    string `json:"code"`
}

// Shard returns 0: invitations are instance-wide.
func (c CreateInvite) Shard() uint16 { return 0 }

func (c CreateInvite) apply(tx *Tx) (string, error) {
	if err := tx.requireAdmin(c.AdminID); err != nil {
		return "", err
	}
	if len(c.Code) < 8 || len(c.Code) > 64 {
		return "", Invalid("code", "An invitation code has 8 to 64 characters.")
	}
	return c.Code, tx.mark(bSettings, []byte("invite:"+c.Code), nil)
}

// Invites returns the unspent invitation codes.
func (s *Store) Invites() ([]string, error) {
	var out []string
	err := s.view(func(tx *Tx) error {
		c := tx.bucket(bSettings).Cursor()
		prefix := []byte("invite:")
		for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), "invite:"); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
		return nil
	})
	return out, err
}
