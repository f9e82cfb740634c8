package store

import (
	"encoding/binary"
	"strings"
	"time"
)

// Posts brought from elsewhere (an Instagram download, another aperture
// instance's export) keep their own time: the post shows it, and its ID is
// made from it, so the profile grid and the author's feed place it in its
// past. Each is recorded under its source's key, so importing the same
// archive again creates nothing twice.

// Import sources.
const (
	SourceInstagram = "instagram"
	SourceAperture  = "aperture"
)

// MaxImportKey is the longest key of an imported post, in bytes.
const MaxImportKey = 200

// Times before compressedUntil share the first compressedMillis of the ID
// space (about 11.6 days after Epoch, long before any instance ran), in
// order: an ID carries milliseconds since Epoch, and a photo from 2012
// must still sort before one from 2019. Later times are exact.
var (
	compressedFrom  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	compressedUntil = Epoch.Add(compressedMillis * time.Millisecond)
)

const compressedMillis = 1_000_000_000

// importMillis returns the time part of an imported post's ID.
func importMillis(t time.Time) int64 {
	if !t.Before(compressedUntil) {
		return millis(t)
	}
	if t.Before(compressedFrom) {
		return 0
	}
	span := compressedUntil.Sub(compressedFrom)
	return int64(float64(t.Sub(compressedFrom)) / float64(span) * compressedMillis)
}

// ImportPost creates a post brought from elsewhere, dated TakenAt: never
// pushed into followers' feeds, no one notified of its mentions. Its
// result is the post; when Key was imported before, the post made then
// (nil if its author has deleted it since), and nothing changes.
type ImportPost struct {
	Meta
	AuthorID ID        `json:"author_id"`
	RunID    ID        `json:"run_id,omitempty"` // the import that makes it
	Source   string    `json:"source"`
	Key      string    `json:"key"`
	TakenAt  time.Time `json:"taken_at"`
	Caption  string    `json:"caption"`
	MediaIDs []ID      `json:"media_ids"`
	Location *Location `json:"location,omitempty"`
}

// Shard returns the author's shard.
func (c ImportPost) Shard() uint16 { return c.AuthorID.Shard() }

func (c ImportPost) apply(tx *Tx) (*Post, error) {
	key, err := importKey(c.AuthorID, c.Source, c.Key)
	if err != nil {
		return nil, err
	}
	if v := tx.at(bImports, key).Get(key); len(v) >= 8 {
		p := new(Post)
		if tx.get(bPosts, v[:8], p, "The post") != nil {
			return nil, nil
		}
		return p, nil
	}
	taken := c.TakenAt.UTC()
	if taken.IsZero() || taken.After(tx.now) {
		taken = tx.now
	}
	p, err := CreatePost{Meta: c.Meta, AuthorID: c.AuthorID, Caption: c.Caption, MediaIDs: c.MediaIDs, Location: c.Location, NoFanout: true}.
		create(tx, func() (ID, time.Time, error) {
			id, err := tx.importID(c.Shard(), taken)
			return id, taken, err
		})
	if err != nil {
		return nil, err
	}
	return p, tx.set(bImports, key, append(p.ID.key(), c.RunID.key()...))
}

// importID returns a free post ID on shard for a post taken at t: from the
// top of that millisecond's sequence numbers down, where fresh IDs (which
// count up from zero) would be the last to reach. The shard's counter
// moves past it, so later fresh IDs stay above it.
func (t *Tx) importID(shard uint16, at time.Time) (ID, error) {
	for ms := importMillis(at); ; ms++ { // a millisecond of a thousand imported posts: the next one
		for seq := maxSeq; seq >= 0; seq-- {
			id := makeID(ms, shard, uint16(seq))
			if t.at(bPosts, id.key()).Get(id.key()) != nil {
				continue
			}
			var k [2]byte
			binary.BigEndian.PutUint16(k[:], shard)
			if v := t.bucket(bSeq).Get(k[:]); len(v) != 8 || idFromKey(v) < id {
				if err := t.set(bSeq, k[:], id.key()); err != nil {
					return 0, err
				}
			}
			return id, nil
		}
	}
}

func importKey(user ID, source, key string) ([]byte, error) {
	if source != SourceInstagram && source != SourceAperture {
		return nil, Invalid("source", "Posts can be imported from instagram or aperture, not %q.", source)
	}
	if key == "" || len(key) > MaxImportKey || strings.IndexByte(key, 0) >= 0 {
		return nil, Invalid("key", "An imported post needs a key of 1 to %d bytes.", MaxImportKey)
	}
	return append(append(append(user.key(), source...), 0), key...), nil
}

// Imported tells whether an import of key from source has made a post for
// user (which its author may have deleted since): an importer skips such
// a post before it processes any photo. It returns the post and the run
// that made it.
func (s *Store) Imported(user ID, source, key string) (post, run ID, done bool, err error) {
	k, err := importKey(user, source, key)
	if err != nil {
		return 0, 0, false, err
	}
	err = s.view(func(tx *Tx) error {
		if v := tx.at(bImports, k).Get(k); len(v) >= 8 {
			post, done = idFromKey(v[:8]), true
			if len(v) >= 16 {
				run = idFromKey(v[8:16])
			}
		}
		return nil
	})
	return post, run, done, err
}
