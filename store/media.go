package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Media is one uploaded, processed photo. Its files are content-addressed
// by Hash (a SHA-256 in hex); several Media may share a Hash when the same
// photo was uploaded with the same edits.
type Media struct {
	ID        ID                      `json:"id"`
	OwnerID   ID                      `json:"owner_id"`
	Hash      string                  `json:"hash"`
	Width     int                     `json:"width"`
	Height    int                     `json:"height"`
	Blurhash  string                  `json:"blurhash"`
	Alt       string                  `json:"alt"`
	Filter    string                  `json:"filter"`
	Variants  map[string]MediaVariant `json:"variants"`
	PostID    ID                      `json:"post_id,omitempty"` // 0 until attached to a post
	CreatedAt time.Time               `json:"created_at"`
}

// MediaVariant is the pixel size of one stored rendition.
type MediaVariant struct {
	Width  int   `json:"width"`
	Height int   `json:"height"`
	Bytes  int64 `json:"bytes,omitempty"`
}

// Bytes is the disk a photo's variants take, counted against its owner's
// quota.
func (m *Media) Bytes() int64 {
	var n int64
	for _, v := range m.Variants {
		n += v.Bytes
	}
	return n
}

// MaxAlt is the longest alt text, in characters.
const MaxAlt = 1500

// CreateMedia records an uploaded photo for its owner. Its result is the
// new *Media on the owner's shard. It fails with ErrInvalid for a bad hash
// or an alt text over 1,500 characters, and ErrNotFound for an unknown
// owner.
type CreateMedia struct {
	Meta
	OwnerID  ID                      `json:"owner_id"`
	Hash     string                  `json:"hash"`
	Width    int                     `json:"width"`
	Height   int                     `json:"height"`
	Blurhash string                  `json:"blurhash"`
	Alt      string                  `json:"alt"`
	Filter   string                  `json:"filter"`
	Variants map[string]MediaVariant `json:"variants"`
	// Quota is the most bytes of photos the owner may keep (0: no limit).
	Quota int64 `json:"quota,omitempty"`
}

// Shard returns the owner's shard.
func (c CreateMedia) Shard() uint16 { return c.OwnerID.Shard() }

func (c CreateMedia) apply(tx *Tx) (*Media, error) {
	h, err := hashKey(c.Hash)
	if err != nil {
		return nil, err
	}
	alt := strings.TrimSpace(c.Alt)
	if utf8.RuneCountInString(alt) > MaxAlt {
		return nil, Invalid("alt", "Alt text can have at most %d characters.", MaxAlt)
	}
	if _, err := tx.user(c.OwnerID); err != nil {
		return nil, err
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	m := &Media{ID: id, OwnerID: c.OwnerID, Hash: c.Hash, Width: c.Width, Height: c.Height, Blurhash: c.Blurhash,
		Alt: alt, Filter: c.Filter, Variants: c.Variants, CreatedAt: tx.now}
	used := tx.usage(c.OwnerID)
	if c.Quota > 0 && used+m.Bytes() > c.Quota {
		return nil, Errorf(ErrTooLarge, "This photo needs %s, but you already use %s of your %s; delete some posts to make room.",
			megabytes(m.Bytes()), megabytes(used), megabytes(c.Quota))
	}
	if err := tx.addUsage(c.OwnerID, m.Bytes()); err != nil {
		return nil, err
	}
	if err := tx.put(bMedia, id.key(), m); err != nil {
		return nil, err
	}
	if err := tx.set(bBlobRefs, append(h, id.key()...), nil); err != nil {
		return nil, err
	}
	if err := tx.del(bBlobGC, h); err != nil {
		return nil, err
	}
	return m, tx.set(bMediaAge, ageKey(tx.now, id), nil)
}

func ageKey(t time.Time, id ID) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixMilli()))
	return append(k, id.key()...)
}

func hashKey(hash string) ([]byte, error) {
	h, err := hex.DecodeString(hash)
	if err != nil || len(h) != 32 {
		return nil, Errorf(ErrInvalid, "%q is not a photo hash.", truncate(hash, 70))
	}
	return h, nil
}

// ExpireMedia deletes up to Limit media that were never attached to a
// post and were created before Before. Its result counts them and lists
// the hashes of blobs left with no reference, which it queues for
// collection. In cluster mode each partition runs it over its own shards.
type ExpireMedia struct {
	Meta
	On     uint16    `json:"on"` // a shard of the partition swept
	Before time.Time `json:"before"`
	Limit  int       `json:"limit"`
}

// Shard returns On: the command sweeps that shard's partition.
func (c ExpireMedia) Shard() uint16 { return c.On }

// Expired is the result of ExpireMedia.
type Expired struct {
	Count   int      // media deleted
	Orphans []string // blob hashes no media uses any more
}

func (c ExpireMedia) apply(tx *Tx) (Expired, error) {
	var out Expired
	ages := tx.bucket(bMediaAge)
	var expired [][]byte
	cur := ages.Cursor()
	end := binary.BigEndian.AppendUint64(nil, uint64(c.Before.UnixMilli()))
	for k, _ := cur.First(); k != nil && bytes.Compare(k[:8], end) < 0 && len(expired) < max(c.Limit, 1); k, _ = cur.Next() {
		expired = append(expired, append([]byte(nil), k...))
	}
	for _, k := range expired {
		if err := tx.del(bMediaAge, k); err != nil {
			return out, err
		}
		id := idFromKey(k[8:])
		m := new(Media)
		if err := tx.get(bMedia, id.key(), m, "That photo"); err != nil {
			continue // already gone
		}
		if m.PostID != 0 {
			continue
		}
		gone, err := tx.deleteMedia(m)
		if err != nil {
			return out, err
		}
		out.Count++
		if gone {
			out.Orphans = append(out.Orphans, m.Hash)
		}
	}
	return out, nil
}

// deleteMedia removes a media record and its blob reference. It reports
// whether the blob has no reference left, in which case it is queued in
// blobgc.
func (t *Tx) deleteMedia(m *Media) (orphaned bool, err error) {
	h, err := hashKey(m.Hash)
	if err != nil {
		return false, err
	}
	if err := t.unmark(bMedia, m.ID.key()); err != nil {
		return false, err
	}
	if err := t.addUsage(m.OwnerID, -m.Bytes()); err != nil {
		return false, err
	}
	refs := t.bucket(bBlobRefs)
	if err := t.del(bBlobRefs, append(h, m.ID.key()...)); err != nil {
		return false, err
	}
	if k, _ := refs.Cursor().Seek(h); k != nil && bytes.HasPrefix(k, h) {
		return false, nil
	}
	return true, t.set(bBlobGC, h, binary.BigEndian.AppendUint64(nil, uint64(t.now.UnixMilli())))
}

// BlobsCollected removes collected hashes from the collection queue.
type BlobsCollected struct {
	Meta
	On     uint16   `json:"on"` // a shard of the partition whose queue it is
	Hashes []string `json:"hashes"`
}

// Shard returns On.
func (c BlobsCollected) Shard() uint16 { return c.On }

func (c BlobsCollected) apply(tx *Tx) (struct{}, error) {
	for _, hash := range c.Hashes {
		if h, err := hashKey(hash); err == nil {
			if err := tx.del(bBlobGC, h); err != nil {
				return struct{}{}, err
			}
		}
	}
	return struct{}{}, nil
}

// Media returns the media with this ID, or ErrNotFound.
func (s *Store) Media(id ID) (*Media, error) {
	m := new(Media)
	if err := s.view(func(tx *Tx) error { return tx.get(bMedia, id.key(), m, "That photo") }); err != nil {
		return nil, err
	}
	return m, nil
}

// BlobUsers returns the media that use the blob hash (at most limit),
// from every partition, for deciding who may fetch its files. An unknown
// hash gives none.
func (s *Store) BlobUsers(hash string, limit int) ([]*Media, error) {
	h, err := hashKey(hash)
	if err != nil {
		return nil, nil
	}
	var out []*Media
	err = s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bBlobRefs).Cursor()
			for k, _ := c.Seek(h); k != nil && bytes.HasPrefix(k, h) && len(out) < limit; k, _ = c.Next() {
				m := new(Media)
				if err := pt.get(bMedia, k[32:], m, "That photo"); err == nil {
					out = append(out, m)
				}
			}
			return nil
		})
	})
	return out, err
}

// BlobAccess says who may fetch a blob's files.
type BlobAccess struct {
	Owner  bool // the viewer uploaded a photo with it
	Public bool // a public account (neither private nor suspended) uses it
	Live   bool // an account that is not suspended uses it
}

// BlobAccess returns who may fetch the files of the blob hash, from the
// first 64 photos in each partition that use it: whether viewer (0:
// anonymous) has one, whether a public account does, and whether any
// account that is not suspended does. Photos of suspended and deleted
// accounts count for nothing, so a blob only they use, like an unknown
// hash, gives the zero value.
func (s *Store) BlobAccess(hash string, viewer ID) (BlobAccess, error) {
	var out BlobAccess
	h, err := hashKey(hash)
	if err != nil {
		return out, nil
	}
	err = s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bBlobRefs).Cursor()
			n := 0
			for k, _ := c.Seek(h); k != nil && bytes.HasPrefix(k, h) && n < 64; k, _ = c.Next() {
				n++
				m, err := shared[Media](tx, bMedia, idFromKey(k[32:]), "That photo")
				if err != nil {
					continue
				}
				u, err := tx.user(m.OwnerID)
				if err != nil || u.Suspended {
					continue
				}
				out.Live = true
				out.Owner = out.Owner || (viewer != 0 && u.ID == viewer)
				out.Public = out.Public || !u.Private
			}
			return nil
		})
	})
	return out, err
}

// BlobUnused reports whether no media in any partition references the
// blob hash.
func (s *Store) BlobUnused(hash string) (bool, error) {
	h, err := hashKey(hash)
	if err != nil {
		return false, err
	}
	unused := true
	err = s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			if k, _ := pt.bucket(bBlobRefs).Cursor().Seek(h); k != nil && bytes.HasPrefix(k, h) {
				unused = false
			}
			return nil
		})
	})
	return unused, err
}

// BlobsToCollect returns up to limit hashes that lost their last
// reference in some partition before the given time (whether another
// partition still uses one is for BlobUnused to say).
func (s *Store) BlobsToCollect(before time.Time, limit int) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			return pt.bucket(bBlobGC).ForEach(func(k, v []byte) error {
				h := hex.EncodeToString(k)
				if len(out) < limit && len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < before.UnixMilli() && !seen[h] {
					seen[h] = true
					out = append(out, h)
				}
				return nil
			})
		})
	})
	return out, err
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// usage returns the bytes of photos a user keeps.
func (t *Tx) usage(user ID) int64 {
	if v := t.at(bUsage, user.key()).Get(user.key()); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func (t *Tx) addUsage(user ID, d int64) error {
	n := max(t.usage(user)+d, 0)
	if n == 0 {
		return t.del(bUsage, user.key())
	}
	return t.set(bUsage, user.key(), binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// Usage returns the bytes of photos a user keeps (what a quota limits).
func (s *Store) Usage(user ID) (n int64, err error) {
	err = s.view(func(tx *Tx) error { n = tx.usage(user); return nil })
	return n, err
}

// ExpireUnattached runs ExpireMedia on every partition until each has no
// more than it to expire, and returns the total.
func (s *Store) ExpireUnattached(ctx context.Context, now, before time.Time) (Expired, error) {
	var out Expired
	for part := range s.parts {
		for {
			ex, err := Exec(ctx, s, ExpireMedia{Meta: At(now), On: PartitionShard(part), Before: before, Limit: 500})
			out.Count += ex.Count
			out.Orphans = append(out.Orphans, ex.Orphans...)
			if err != nil || ex.Count < 500 {
				if err != nil {
					return out, err
				}
				break
			}
		}
	}
	return out, nil
}

// BlobsGone removes collected hashes from every partition's collection
// queue.
func (s *Store) BlobsGone(ctx context.Context, now time.Time, hashes []string) error {
	for part := range s.parts {
		if _, err := Exec(ctx, s, BlobsCollected{Meta: At(now), On: PartitionShard(part), Hashes: hashes}); err != nil {
			return err
		}
	}
	return nil
}

// SweepUnattached is ExpireUnattached for the media sweeper: it returns
// how many photos it deleted.
func (s *Store) SweepUnattached(ctx context.Context, now, before time.Time) (int, error) {
	ex, err := s.ExpireUnattached(ctx, now, before)
	return ex.Count, err
}
