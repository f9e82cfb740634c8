// Package auth holds aperture's accounts logic above the store: password
// hashing, JWT access tokens with rotating signing keys, refresh tokens
// and the in-memory session check made on every request.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// KeyStore keeps the signing keys. On one node it is a file in the data
// directory; a cluster keeps them in its replicated key-value bucket.
type KeyStore interface {
	// Load returns the saved keyring, or an error wrapping fs.ErrNotExist
	// if none was saved yet.
	Load() ([]byte, error)
	// Save replaces the saved keyring.
	Save([]byte) error
}

// FileKeys is a KeyStore in one file written with mode 0600.
type FileKeys string

// Load returns the file's bytes.
func (f FileKeys) Load() ([]byte, error) { return os.ReadFile(string(f)) }

// Save writes the file through a temp file, fsync and rename.
func (f FileKeys) Save(b []byte) error {
	dir := filepath.Dir(string(f))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".keys-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), string(f))
}

// Key is one HS256 signing key.
type Key struct {
	ID      string    `json:"kid"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
	Retired time.Time `json:"retired,omitzero"` // zero for the current key
}

// Keyring is the current signing key and the retired keys that still
// verify tokens issued before a rotation. It is safe for concurrent use.
type Keyring struct {
	mu    sync.RWMutex
	keys  []Key // keys[0] is current
	store KeyStore
	grace time.Duration // how long a retired key keeps verifying
}

// LoadKeyring reads the keys from ks, generating and saving a first key if
// there is none. Retired keys keep verifying for grace after they were
// retired (at least the access-token lifetime).
func LoadKeyring(ks KeyStore, now time.Time, grace time.Duration) (*Keyring, error) {
	kr := &Keyring{store: ks, grace: grace}
	b, err := ks.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return kr, kr.Rotate(now)
	case err != nil:
		return nil, fmt.Errorf("auth: read signing keys: %w", err)
	}
	if err := json.Unmarshal(b, &kr.keys); err != nil || len(kr.keys) == 0 || len(kr.keys[0].Secret) < 32 {
		return nil, fmt.Errorf("auth: the signing key file is damaged; move it away to start with a new key (every session must then sign in again)")
	}
	return kr, nil
}

// Rotate makes a fresh key current, retires the old one, drops keys
// retired longer than the grace period ago, and saves the ring.
func (kr *Keyring) Rotate(now time.Time) error {
	secret := make([]byte, 32)
	rand.Read(secret)
	id := make([]byte, 6)
	rand.Read(id)
	kr.mu.Lock()
	defer kr.mu.Unlock()
	keys := []Key{{ID: base64.RawURLEncoding.EncodeToString(id), Secret: secret, Created: now.UTC()}}
	for _, k := range kr.keys {
		if k.Retired.IsZero() {
			k.Retired = now.UTC()
		}
		if now.Sub(k.Retired) < kr.grace {
			keys = append(keys, k)
		}
	}
	b, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return err
	}
	if err := kr.store.Save(b); err != nil {
		return fmt.Errorf("auth: save signing keys: %w", err)
	}
	kr.keys = keys
	return nil
}

// RotateIfOlder rotates when the current key is older than age.
func (kr *Keyring) RotateIfOlder(now time.Time, age time.Duration) error {
	kr.mu.RLock()
	old := now.Sub(kr.keys[0].Created) >= age
	kr.mu.RUnlock()
	if !old {
		return nil
	}
	return kr.Rotate(now)
}

// current returns the signing key.
func (kr *Keyring) current() Key {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.keys[0]
}

// verifying returns the key with this ID if it may still verify tokens at
// time now.
func (kr *Keyring) verifying(kid string, now time.Time) (Key, bool) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	for _, k := range kr.keys {
		if k.ID == kid && (k.Retired.IsZero() || now.Sub(k.Retired) < kr.grace) {
			return k, true
		}
	}
	return Key{}, false
}

// LoadSecret returns the 32-byte secret kept in ks, generating and saving
// one on first use. It fails if the store cannot be read or written, or
// holds something other than a secret.
func LoadSecret(ks KeyStore) ([]byte, error) {
	b, err := ks.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		secret := make([]byte, 32)
		rand.Read(secret)
		if err := ks.Save([]byte(base64.RawURLEncoding.EncodeToString(secret))); err != nil {
			return nil, fmt.Errorf("auth: save secret: %w", err)
		}
		return secret, nil
	case err != nil:
		return nil, fmt.Errorf("auth: read secret: %w", err)
	}
	secret, err := base64.RawURLEncoding.DecodeString(string(b))
	if err != nil || len(secret) != 32 {
		return nil, fmt.Errorf("auth: the secret file is damaged; move it away to generate a new one")
	}
	return secret, nil
}
