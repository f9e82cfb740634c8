package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// KV holds the global facts: the few things that belong to no partition
// (usernames, instance settings, invitation codes). It is a key-value
// store with revisions and compare-and-swap, the shape of a JetStream
// key-value bucket: on one node a small bbolt file of its own, in a
// cluster a replicated bucket.
type KV interface {
	// Get returns a key's value and revision, or ErrNotFound.
	Get(key string) ([]byte, uint64, error)
	// Create stores a new key and returns its revision; ErrConflict if
	// the key exists.
	Create(key string, value []byte) (uint64, error)
	// Update replaces a key's value if its revision is still rev, and
	// returns the new revision; ErrConflict otherwise (ErrNotFound if the
	// key is gone).
	Update(key string, value []byte, rev uint64) (uint64, error)
	// Delete removes a key if its revision is still rev (any revision when
	// rev is 0); ErrConflict otherwise, ErrNotFound if absent.
	Delete(key string, rev uint64) error
	// Keys returns the keys that start with prefix, in order.
	Keys(prefix string) ([]string, error)
	// Close releases the store.
	Close() error
}

// GlobalFile is the file of the global facts in a data directory.
const GlobalFile = "global.db"

var (
	bKV    = []byte("kv")
	keyRev = []byte("rev")
)

// boltKV is the single-node KV: one bbolt file, values stored as
// revision(8) | value, one revision counter for the whole store.
type boltKV struct{ db *bolt.DB }

// openBoltKV opens (creating) DIR/global.db.
func openBoltKV(dir string, opt Options) (*boltKV, error) {
	db, err := bolt.Open(filepath.Join(dir, GlobalFile), 0o600, &bolt.Options{Timeout: opt.LockTimeout, NoSync: opt.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, Errorf(ErrUnavailable, "The data directory %s is in use by another aperture process (%s is locked); stop that process or choose another --data directory.", dir, GlobalFile)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", GlobalFile, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bKV, bMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltKV{db: db}, nil
}

func (k *boltKV) Get(key string) (v []byte, rev uint64, err error) {
	err = k.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bKV).Get([]byte(key))
		if raw == nil {
			return Errorf(ErrNotFound, "%s was not found.", key)
		}
		rev, v = binary.BigEndian.Uint64(raw), bytes.Clone(raw[8:])
		return nil
	})
	return v, rev, err
}

// put writes key at the next revision if check allows the current one.
func (k *boltKV) put(key string, value []byte, check func(cur []byte) error) (rev uint64, err error) {
	err = k.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bKV)
		if err := check(b.Get([]byte(key))); err != nil {
			return err
		}
		meta := tx.Bucket(bMeta)
		if v := meta.Get(keyRev); len(v) == 8 {
			rev = binary.BigEndian.Uint64(v)
		}
		rev++
		if err := meta.Put(keyRev, binary.BigEndian.AppendUint64(nil, rev)); err != nil {
			return err
		}
		return b.Put([]byte(key), append(binary.BigEndian.AppendUint64(nil, rev), value...))
	})
	return rev, err
}

func (k *boltKV) Create(key string, value []byte) (uint64, error) {
	return k.put(key, value, func(cur []byte) error {
		if cur != nil {
			return Errorf(ErrConflict, "%s exists.", key)
		}
		return nil
	})
}

func (k *boltKV) Update(key string, value []byte, rev uint64) (uint64, error) {
	return k.put(key, value, func(cur []byte) error { return checkRev(key, cur, rev) })
}

func checkRev(key string, cur []byte, rev uint64) error {
	switch {
	case cur == nil:
		return Errorf(ErrNotFound, "%s was not found.", key)
	case rev != 0 && binary.BigEndian.Uint64(cur) != rev:
		return Errorf(ErrConflict, "%s changed meanwhile.", key)
	}
	return nil
}

func (k *boltKV) Delete(key string, rev uint64) error {
	return k.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bKV)
		if err := checkRev(key, b.Get([]byte(key)), rev); err != nil {
			return err
		}
		return b.Delete([]byte(key))
	})
}

func (k *boltKV) Keys(prefix string) ([]string, error) {
	var out []string
	err := k.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bKV).Cursor()
		for key, _ := c.Seek([]byte(prefix)); key != nil && bytes.HasPrefix(key, []byte(prefix)); key, _ = c.Next() {
			out = append(out, string(key))
		}
		return nil
	})
	return out, err
}

func (k *boltKV) Close() error { return k.db.Close() }
