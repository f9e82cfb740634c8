package store

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Place is a named point that posts are tagged with. Posts naming the
// same place (case-insensitively) within about a kilometre share one.
type Place struct {
	ID    ID      `json:"id"`
	Name  string  `json:"name"`
	Lat   float64 `json:"lat"`
	Lon   float64 `json:"lon"`
	Posts int64   `json:"posts"`
}

// Jobs that keep the search index current.
const (
	JobIndexPost = "index_post" // IndexJob: (re)index or drop a post
	JobIndexUser = "index_user" // IndexJob: (re)index a user and their posts' visibility
)

// IndexJob names what changed: a post or user, and for a post with a
// location, its place (whose post count changed with it).
type IndexJob struct {
	ID    ID `json:"id"`
	Place ID `json:"place,omitempty"`
}

// indexPost queues the index job of a post change.
func (t *Tx) indexPost(p *Post) error {
	job := IndexJob{ID: p.ID}
	if p.Location != nil {
		job.Place = PlaceID(*p.Location)
	}
	return t.enqueue(JobIndexPost, job)
}

// PlaceID returns the ID of the place a location belongs to: a hash of the
// lower-case name and the point rounded to 0.01° (about a kilometre).
// Place IDs have their own range, so they never collide with other IDs.
func PlaceID(l Location) ID {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(strings.TrimSpace(l.Name))))
	lat, lon := math.Round(l.Lat*100), math.Round(l.Lon*100)
	var b [16]byte
	for i, v := range []int64{int64(lat), int64(lon)} {
		for j := range 8 {
			b[i*8+j] = byte(uint64(v) >> (8 * j))
		}
	}
	h.Write(b[:])
	return ID(h.Sum64()>>1 | 1)
}

// placeAdd counts a post at its place, creating the place.
func (t *Tx) placeAdd(p *Post) error {
	if p.Location == nil {
		return nil
	}
	id := PlaceID(*p.Location)
	pl := &Place{}
	if err := t.get(bPlaces, id.key(), pl, "place"); err != nil {
		pl = &Place{ID: id, Name: p.Location.Name, Lat: p.Location.Lat, Lon: p.Location.Lon}
	}
	pl.Posts++
	if err := t.put(bPlaces, id.key(), pl); err != nil {
		return err
	}
	return t.mark(bPlacePosts, pair(id, p.ID), nil)
}

// placeRemove uncounts a deleted post; a place with no posts is dropped.
func (t *Tx) placeRemove(p *Post) error {
	if p.Location == nil {
		return nil
	}
	id := PlaceID(*p.Location)
	if err := t.unmark(bPlacePosts, pair(id, p.ID)); err != nil {
		return err
	}
	pl := &Place{}
	if err := t.get(bPlaces, id.key(), pl, "place"); err != nil {
		return nil
	}
	pl.Posts--
	if pl.Posts <= 0 {
		return t.unmark(bPlaces, id.key())
	}
	return t.put(bPlaces, id.key(), pl)
}

// Place returns a place, its posts counted over every partition, or
// ErrNotFound.
func (s *Store) Place(id ID) (*Place, error) {
	var pl *Place
	err := s.view(func(tx *Tx) error {
		pl = tx.place(id)
		if pl == nil {
			return Errorf(ErrNotFound, "That place was not found.")
		}
		return nil
	})
	return pl, err
}

// place merges every partition's record of a place (nil if none has it).
func (t *Tx) place(id ID) *Place {
	var out *Place
	t.eachPart(func(pt *Tx) error {
		pl := new(Place)
		if pt.get(bPlaces, id.key(), pl, "place") != nil {
			return nil
		}
		if out == nil {
			out = pl
		} else {
			out.Posts += pl.Posts
		}
		return nil
	})
	return out
}

// PlacePosts returns a page of the posts tagged with a place, newest
// first, that viewer may see, merged from every partition.
func (s *Store) PlacePosts(viewer, place ID, p Page) (PostPage, error) {
	p = p.norm()
	var out PostPage
	err := s.view(func(tx *Tx) error {
		out.Posts, out.Next = tx.mergePages(p, func(pt *Tx, take func(ID) bool) {
			pt.walkNewest(bPlacePosts, place, p.Before, take)
		}, viewer)
		out.Hydrated = tx.hydrate(viewer, out.Posts)
		return nil
	})
	return out, err
}

// mergePages reads one newest-first page of posts that viewer may see
// from a list every partition keeps its part of: walk walks one
// partition's part, newest first, below the page's cursor, calling take
// until it returns false. It returns the page and the next cursor.
func (t *Tx) mergePages(p Page, walk func(pt *Tx, take func(ID) bool), viewer ID) ([]*Post, ID) {
	var all []*Post
	t.eachPart(func(pt *Tx) error {
		n := 0
		walk(pt, func(id ID) bool {
			if post, err := t.post(id); err == nil {
				if _, err := t.canSeePost(viewer, post); err == nil {
					all = append(all, post)
					n++
				}
			}
			return n <= p.Limit
		})
		return nil
	})
	slices.SortFunc(all, func(a, b *Post) int { return cmp.Compare(b.ID, a.ID) })
	var next ID
	if len(all) > p.Limit {
		all = all[:p.Limit]
		next = all[len(all)-1].ID
	}
	return all, next
}

// Posts returns the posts with these IDs that viewer may see, in the
// given order, with what rendering them needs.
func (s *Store) Posts(viewer ID, ids []ID) (PostPage, error) {
	var out PostPage
	err := s.view(func(tx *Tx) error {
		for _, id := range ids {
			if post, err := tx.post(id); err == nil {
				if _, err := tx.canSeePost(viewer, post); err == nil {
					out.Posts = append(out.Posts, post)
				}
			}
		}
		out.Hydrated = tx.hydrate(viewer, out.Posts)
		return nil
	})
	return out, err
}

// EachPost calls fn for every post with its author, in ID order, a
// thousand to a read transaction; for rebuilding derived indexes.
func (s *Store) EachPost(fn func(p *Post, author *User) error) error {
	var after ID
	for {
		var batch []*Post
		var authors []*User
		more := false
		err := s.view(func(tx *Tx) error {
			// The next thousand posts by ID, from every partition.
			var all []*Post
			err := tx.eachPart(func(pt *Tx) error {
				c := pt.bucket(bPosts).Cursor()
				n := 0
				for k, v := c.Seek((after + 1).key()); k != nil && n < 1000; k, v = c.Next() {
					p := new(Post)
					if err := decode(v, p); err != nil {
						return err
					}
					all = append(all, p)
					n++
				}
				return nil
			})
			if err != nil || len(all) == 0 {
				return err
			}
			slices.SortFunc(all, func(a, b *Post) int { return cmp.Compare(a.ID, b.ID) })
			all = all[:min(len(all), 1000)]
			after, more = all[len(all)-1].ID, true
			for _, p := range all {
				if u, err := tx.user(p.AuthorID); err == nil {
					batch, authors = append(batch, p), append(authors, u)
				}
			}
			return nil
		})
		if err != nil || !more {
			return err
		}
		for i, p := range batch {
			if err := fn(p, authors[i]); err != nil {
				return err
			}
		}
	}
}

// EachUser calls fn for every user, a thousand to a read transaction.
func (s *Store) EachUser(fn func(u *User) error) error {
	ids, err := s.UserIDs()
	if err != nil {
		return err
	}
	for _, id := range ids {
		u, err := s.User(id)
		if err != nil {
			continue
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// EachPlace calls fn for every place, its posts counted over every
// partition, in ID order.
func (s *Store) EachPlace(fn func(pl *Place) error) error {
	merged := map[ID]*Place{}
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			return pt.bucket(bPlaces).ForEach(func(_, v []byte) error {
				pl := new(Place)
				if err := decode(v, pl); err != nil {
					return err
				}
				if m := merged[pl.ID]; m != nil {
					m.Posts += pl.Posts
				} else {
					merged[pl.ID] = pl
				}
				return nil
			})
		})
	})
	places := make([]*Place, 0, len(merged))
	for _, pl := range merged {
		places = append(places, pl)
	}
	slices.SortFunc(places, func(a, b *Place) int { return cmp.Compare(a.ID, b.ID) })
	if err != nil {
		return err
	}
	for _, pl := range places {
		if err := fn(pl); err != nil {
			return err
		}
	}
	return nil
}

// PostForIndex returns a post and its author regardless of who may see
// it, for the search index; ErrNotFound once the post is deleted.
func (s *Store) PostForIndex(id ID) (*Post, *User, error) {
	var p *Post
	var u *User
	err := s.view(func(tx *Tx) (err error) {
		if p, err = tx.post(id); err != nil {
			return err
		}
		u, err = tx.user(p.AuthorID)
		return err
	})
	return p, u, err
}

// UsersVisibleTo returns the users with these IDs, in order, leaving out
// those the viewer blocks or is blocked by.
func (s *Store) UsersVisibleTo(viewer ID, ids []ID) ([]*User, error) {
	var out []*User
	err := s.view(func(tx *Tx) error {
		for _, id := range ids {
			if u, err := tx.user(id); err == nil && !tx.blocked(viewer, id) {
				out = append(out, u)
			}
		}
		return nil
	})
	return out, err
}

// TagCount is a hashtag and how many posts carry it.
type TagCount struct {
	Tag   string `json:"tag"`
	Posts int    `json:"posts"`
}

// TagsWithPrefix returns up to limit hashtags starting with prefix, most
// used first (typeahead: "sun" finds sunset).
func (s *Store) TagsWithPrefix(prefix string, limit int) ([]TagCount, error) {
	prefix = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(prefix), "#"))
	var out []TagCount
	counts := map[string]int{}
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bTagCounts).Cursor()
			n := 0
			for k, _ := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix) && n < 10_000; k, _ = c.Next() {
				counts[string(k)] += int(pt.counter(bTagCounts, k))
				n++
			}
			return nil
		})
	})
	for tag, n := range counts {
		out = append(out, TagCount{Tag: tag, Posts: n})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Posts > out[j].Posts || out[i].Posts == out[j].Posts && out[i].Tag < out[j].Tag
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// CountDocs returns how many users, posts and places there are (what a
// search rebuild indexes).
func (s *Store) CountDocs() (int, error) {
	n := 0
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			for _, b := range [][]byte{bUsers, bPosts, bPlaces} {
				n += pt.bucket(b).Stats().KeyN
			}
			return nil
		})
	})
	return n, err
}

// OldestJob returns the creation time of the oldest queued job of the
// given kinds among the first 10,000 in each partition's outbox (zero if
// none): the search index's lag.
func (s *Store) OldestJob(kinds ...string) (time.Time, error) {
	var oldest time.Time
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bOutbox).Cursor()
			n := 0
			for k, v := c.First(); k != nil && n < 10_000; k, v = c.Next() {
				n++
				j := new(Job)
				if decode(v, j) != nil || !slices.Contains(kinds, j.Kind) {
					continue
				}
				if oldest.IsZero() || j.CreatedAt.Before(oldest) {
					oldest = j.CreatedAt
				}
				return nil
			}
			return nil
		})
	})
	return oldest, err
}
