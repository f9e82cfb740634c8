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
// Posts counts them all; Public counts those of public accounts, and
// SumLat and SumLon add up their points. A place is shown as its public
// posts support it (see PublicPlace): no one learns of a place that only
// private posts use. Each partition keeps the part of a place its own
// posts make; readers add the parts up.
type Place struct {
	ID      ID      `json:"id"`
	Name    string  `json:"name"` // as the oldest public post names it (the first post, while none is public)
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	Posts   int64   `json:"posts"`
	Public  int64   `json:"public,omitempty"`
	SumLat  float64 `json:"sum_lat,omitempty"`
	SumLon  float64 `json:"sum_lon,omitempty"`
	NamedBy ID      `json:"named_by,omitempty"` // the public post whose name it has
}

// publicFace returns the place as its public posts show it: the name a
// public post gave it, their centroid and their number.
func (pl *Place) publicFace() *Place {
	n := float64(pl.Public)
	return &Place{ID: pl.ID, Name: pl.Name, Lat: pl.SumLat / n, Lon: pl.SumLon / n, Posts: pl.Public}
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
	t.places = append(t.places, id)
	if err := t.put(bPlaces, id.key(), pl); err != nil {
		return err
	}
	return t.mark(bPlacePosts, pair(id, p.ID), nil)
}

// placePublic adds a public post to (d = 1), or takes it out of (d = -1),
// its place's public count and point. The oldest public post names the
// place; without public posts it has no public point.
func (t *Tx) placePublic(p *Post, d int) error {
	if p.Location == nil {
		return nil
	}
	id := PlaceID(*p.Location)
	pl := &Place{}
	if err := t.get(bPlaces, id.key(), pl, "place"); err != nil {
		return nil
	}
	t.places = append(t.places, id)
	switch {
	case d > 0:
		if pl.Public == 0 || p.ID < pl.NamedBy {
			pl.Name, pl.NamedBy = p.Location.Name, p.ID
		}
		pl.Public++
		pl.SumLat += p.Location.Lat
		pl.SumLon += p.Location.Lon
	case pl.Public <= 1:
		pl.Public, pl.SumLat, pl.SumLon, pl.NamedBy = 0, 0, 0, 0
	default:
		pl.Public--
		pl.SumLat -= p.Location.Lat
		pl.SumLon -= p.Location.Lon
		if pl.NamedBy == p.ID {
			t.renamePlace(pl, p.ID)
		}
	}
	return t.put(bPlaces, id.key(), pl)
}

// renamePlace names pl after its oldest public post in this partition
// other than except (the post leaving the public count).
func (t *Tx) renamePlace(pl *Place, except ID) {
	t.walkOldest(bPlacePosts, pl.ID, 0, func(id ID) bool {
		if id == except {
			return true
		}
		post, err := t.post(id)
		if err != nil || post.Location == nil {
			return true
		}
		if u, err := t.user(post.AuthorID); err != nil || !publicAuthor(u) {
			return true
		}
		pl.Name, pl.NamedBy = post.Location.Name, id
		return false
	})
}

// placeRemove uncounts a deleted post; a place with no posts is dropped.
func (t *Tx) placeRemove(p *Post) error {
	if p.Location == nil {
		return nil
	}
	id := PlaceID(*p.Location)
	t.places = append(t.places, id)
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

var errNoPlace = Errorf(ErrNotFound, "That place was not found.")

// PublicPlace returns a place as its public posts show it (their name,
// centroid and number, over every partition), or ErrNotFound when it has
// none: for search and the search index.
func (s *Store) PublicPlace(id ID) (*Place, error) {
	var out *Place
	err := s.view(func(tx *Tx) error {
		pl := tx.place(id)
		if pl == nil || pl.Public == 0 {
			return errNoPlace
		}
		out = pl.publicFace()
		return nil
	})
	return out, err
}

// place merges every partition's part of a place (nil if none has it):
// the counts and sums add up, and the name is the one its oldest public
// post gave it.
func (t *Tx) place(id ID) *Place {
	var out *Place
	t.eachPart(func(pt *Tx) error {
		pl := new(Place)
		if pt.get(bPlaces, id.key(), pl, "place") != nil {
			return nil
		}
		if out == nil {
			out = pl
			return nil
		}
		if pl.Public > 0 && (out.Public == 0 || pl.NamedBy < out.NamedBy) {
			out.Name, out.Lat, out.Lon, out.NamedBy = pl.Name, pl.Lat, pl.Lon, pl.NamedBy
		}
		out.Posts += pl.Posts
		out.Public += pl.Public
		out.SumLat += pl.SumLat
		out.SumLon += pl.SumLon
		return nil
	})
	return out
}

// maxCounted bounds the posts walked to count what one viewer may see
// where nothing is public; the count saturates there.
const maxCounted = 10_000

// PlacePosts returns a place as viewer may see it and a page of its
// posts, newest first, that viewer may see, over every partition. A place
// with public posts is shown as they show it (PublicPlace). One with none
// is shown only to viewers who may see some of its posts (a private
// account's followers), named and placed as the newest of those, with
// their number; to anyone else it is ErrNotFound, as if it did not exist.
func (s *Store) PlacePosts(viewer, place ID, p Page) (*Place, PostPage, error) {
	p = p.norm()
	var out PostPage
	var face *Place
	err := s.view(func(tx *Tx) error {
		pl := tx.place(place)
		if pl == nil {
			return errNoPlace
		}
		walk := func(before ID) func(pt *Tx, take func(ID) bool) {
			return func(pt *Tx, take func(ID) bool) { pt.walkNewest(bPlacePosts, place, before, take) }
		}
		if pl.Public > 0 {
			face = pl.publicFace()
		} else {
			seen, _ := tx.mergePages(Page{Limit: maxCounted}, walk(0), viewer)
			if len(seen) == 0 || seen[0].Location == nil {
				return errNoPlace
			}
			first := seen[0].Location
			face = &Place{ID: pl.ID, Name: first.Name, Lat: first.Lat, Lon: first.Lon, Posts: int64(len(seen))}
		}
		out.Posts, out.Next = tx.mergePages(p, walk(p.Before), viewer)
		out.Hydrated = tx.hydrate(viewer, out.Posts)
		return nil
	})
	return face, out, err
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

// EachPlace calls fn for every place with public posts, as they show it
// (see PublicPlace), merged over every partition, in ID order.
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
					if pl.Public > 0 && (m.Public == 0 || pl.NamedBy < m.NamedBy) {
						m.Name, m.NamedBy = pl.Name, pl.NamedBy
					}
					m.Posts += pl.Posts
					m.Public += pl.Public
					m.SumLat += pl.SumLat
					m.SumLon += pl.SumLon
				} else {
					merged[pl.ID] = pl
				}
				return nil
			})
		})
	})
	places := make([]*Place, 0, len(merged))
	for _, pl := range merged {
		if pl.Public > 0 {
			places = append(places, pl.publicFace())
		}
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
// suspended accounts and those the viewer blocks or is blocked by.
func (s *Store) UsersVisibleTo(viewer ID, ids []ID) ([]*User, error) {
	var out []*User
	err := s.view(func(tx *Tx) error {
		for _, id := range ids {
			if u, err := tx.user(id); err == nil && !u.Suspended && !tx.blocked(viewer, id) {
				out = append(out, u)
			}
		}
		return nil
	})
	return out, err
}

// TagCount is a hashtag and how many public posts carry it.
type TagCount struct {
	Tag   string `json:"tag"`
	Posts int    `json:"posts"`
}

// TagsWithPrefix returns up to limit hashtags starting with prefix that
// public posts carry, with how many (over every partition), most used
// first (typeahead: "sun" finds sunset). A tag only private or suspended
// accounts use is not among them.
func (s *Store) TagsWithPrefix(prefix string, limit int) ([]TagCount, error) {
	prefix = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(prefix), "#"))
	var out []TagCount
	counts := map[string]int{}
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bTagPublic).Cursor()
			n := 0
			for k, _ := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix) && n < 10_000; k, _ = c.Next() {
				counts[string(k)] += int(pt.counter(bTagPublic, k))
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

// CountDocs returns how many users, posts and places there are: about what
// a search rebuild indexes (it leaves out suspended accounts and places
// without public posts), for its progress bar.
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
