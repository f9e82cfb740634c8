package store

import (
	"cmp"
	"fmt"
	"slices"
)

// What others see of an account depends on its standing: a public
// account's posts are public content, a private account's are for its
// followers, and a suspended (or deleted) account's are no one's. This
// file keeps the aggregates anyone may read — hashtag counts, places,
// map cells — to public content, and keeps what a suspended account did
// out of every count.
//
// The account's own partition changes its posts' public counts in the
// same transaction as the change of standing. What the account did
// elsewhere (likes and comments on posts, follows of accounts, in every
// partition) is counted by those partitions: each keeps the standing of
// the accounts that acted on it (SetStanding, sent to every partition),
// and indexes of their likes, comments and follows, so that it takes
// them out of its counts, or puts them back, in the transaction that
// records the new standing. A like or comment that arrives later is
// counted, or not, by the same record.

// publicAuthor reports whether u's posts are public content: the account
// is neither private nor suspended.
func publicAuthor(u *User) bool { return !u.Private && !u.Suspended }

// hidden reports whether the account is suspended or deleted; an account
// that cannot be read is not. A read transaction asks the account's own
// record; apply asks its partition's record of the account's standing.
func (t *Tx) hidden(id ID) bool {
	if t.rs != nil {
		u, err := t.user(id)
		return err == nil && u.Suspended
	}
	v := t.bucket(bStanding).Get(id.key())
	return len(v) == 9 && v[8] == 1
}

// publicCount adds a post of a public account to (d = 1), or takes it out
// of (d = -1), the aggregates of public content: its hashtags' public
// counts, its place's public count and point, and the map's cells.
func (t *Tx) publicCount(p *Post, d int) error {
	if err := t.publicTags(p.Tags, d); err != nil {
		return err
	}
	if err := t.placePublic(p, d); err != nil {
		return err
	}
	return t.geoCount(p, d)
}

// publicTags adds d to the public counts of tags.
func (t *Tx) publicTags(tags []string, d int) error {
	for _, tag := range tags {
		if _, err := t.addCounter(bTagPublic, []byte(tag), d); err != nil {
			return err
		}
	}
	return nil
}

// standing is what decides what others see of an account.
type standing struct{ public, suspended bool }

func standingOf(u *User) standing { return standing{public: publicAuthor(u), suspended: u.Suspended} }

// restand brings the aggregates up to date after u's standing changed
// from was (u is already written): its posts enter or leave the public
// counts, and a suspension takes its likes, comments and follows out of
// the counts of what they touch in every partition (lifting it puts them
// back).
func (t *Tx) restand(u *User, was standing) error {
	now := standingOf(u)
	if now.public != was.public {
		d := 1
		if !now.public {
			d = -1
		}
		var ids []ID
		t.walkOldest(bUserPosts, u.ID, 0, func(id ID) bool { ids = append(ids, id); return true })
		for _, id := range ids {
			p, err := t.post(id)
			if err != nil {
				continue
			}
			if err := t.publicCount(p, d); err != nil {
				return err
			}
		}
	}
	if now.suspended != was.suspended {
		v, err := t.NewID(t.shard)
		if err != nil {
			return err
		}
		for part := range max(t.parts, 1) {
			if err := pass(t, JobStanding, SetStanding{Meta: Meta{At: t.now}, On: PartitionShard(part), User: u.ID, Hidden: now.suspended, Version: v}); err != nil {
				return err
			}
		}
	}
	return nil
}

// JobStanding carries an account's standing to another partition.
const JobStanding = "standing" // SetStanding

// SetStanding records in one partition whether an account is suspended
// (Hidden), as of Version, and takes the account's likes, comments and
// follows in that partition out of the counts they touch (or puts them
// back): posts' like and comment counts, followed accounts' follower
// counts. An older or repeated version changes nothing.
type SetStanding struct {
	Meta
	On      uint16 `json:"on"` // a shard of the partition told
	User    ID     `json:"user"`
	Hidden  bool   `json:"hidden"`
	Version ID     `json:"version"`
}

// Shard returns On.
func (c SetStanding) Shard() uint16 { return c.On }

func (c SetStanding) apply(tx *Tx) (struct{}, error) {
	cur := tx.bucket(bStanding).Get(c.User.key())
	if len(cur) == 9 && idFromKey(cur[:8]) >= c.Version {
		return struct{}{}, nil
	}
	was := len(cur) == 9 && cur[8] == 1
	v := append(c.Version.key(), 0)
	if c.Hidden {
		v[8] = 1
	}
	if err := tx.set(bStanding, c.User.key(), v); err != nil {
		return struct{}{}, err
	}
	if was == c.Hidden {
		return struct{}{}, nil
	}
	d := int64(1)
	if c.Hidden {
		d = -1
	}
	return struct{}{}, tx.countDoings(c.User, d)
}

// countDoings adds d (1 or -1) to the counts of what the account's likes,
// comments and follows in this partition touch: posts' like and comment
// counts and the followed accounts' follower counts.
func (t *Tx) countDoings(user ID, d int64) error {
	var liked, comments, followed []ID
	t.walkOldest(bUserLikes, user, 0, func(id ID) bool { liked = append(liked, id); return true })
	t.walkOldest(bUserComms, user, 0, func(id ID) bool { comments = append(comments, id); return true })
	t.walkOldest(bFollowersBy, user, 0, func(id ID) bool { followed = append(followed, id); return true })
	for _, id := range liked {
		p, err := t.post(id)
		if err != nil {
			continue // deleted; its likes are being purged
		}
		p.LikeCount += d
		if err := t.put(bPosts, p.ID.key(), p); err != nil {
			return err
		}
	}
	for _, id := range comments {
		cm := new(Comment)
		if t.get(bComments, id.key(), cm, "comment") != nil {
			continue
		}
		p, err := t.post(cm.PostID)
		if err != nil {
			continue
		}
		p.CommentCount += d
		if err := t.put(bPosts, p.ID.key(), p); err != nil {
			return err
		}
	}
	for _, id := range followed {
		if err := t.count(id, func(c *Counts) { c.Followers += d }); err != nil {
			return err
		}
	}
	return nil
}

// suspend suspends an account (on) or lifts its suspension, with
// everything that follows from it: a suspension ends every session the
// account has, and both change what others see.
func (t *Tx) suspend(u *User, on bool) error {
	was := standingOf(u)
	u.Suspended, u.UpdatedAt = on, t.now
	if on {
		u.SessionsEndedAt = t.now
	}
	if err := t.put(bUsers, u.ID.key(), u); err != nil {
		return err
	}
	if err := t.restand(u, was); err != nil {
		return err
	}
	return t.enqueue(JobIndexUser, IndexJob{ID: u.ID})
}

// publicTotals are the aggregates of public content, recomputed from the
// posts: posts per tag, per place and per map cell (keyed like bGeoCells).
type publicTotals struct {
	tags   map[string]uint32
	places map[ID]int64
	cells  map[string]int
}

// expectedPublic recomputes the public aggregates from the posts and
// their authors' standing.
func (t *Tx) expectedPublic() (publicTotals, error) {
	want := publicTotals{tags: map[string]uint32{}, places: map[ID]int64{}, cells: map[string]int{}}
	err := t.bucket(bPosts).ForEach(func(_, v []byte) error {
		p := new(Post)
		if err := decode(v, p); err != nil {
			return err
		}
		if u, err := t.user(p.AuthorID); err != nil || !publicAuthor(u) {
			return nil
		}
		for _, tag := range p.Tags {
			want.tags[tag]++
		}
		if p.Location != nil {
			want.places[PlaceID(*p.Location)]++
			full := Geohash(p.Location.Lat, p.Location.Lon, geoPrecisions)
			for i := 1; i <= geoPrecisions; i++ {
				want.cells[string(cellKey(full[:i]))]++
			}
		}
		return nil
	})
	return want, err
}

// storedPublic reads the public aggregates as kept.
func (t *Tx) storedPublic() (publicTotals, error) {
	have := publicTotals{tags: map[string]uint32{}, places: map[ID]int64{}, cells: map[string]int{}}
	if err := t.bucket(bTagPublic).ForEach(func(k, _ []byte) error {
		have.tags[string(k)] = t.counter(bTagPublic, k)
		return nil
	}); err != nil {
		return have, err
	}
	if err := t.bucket(bPlaces).ForEach(func(k, v []byte) error {
		pl := new(Place)
		if err := decode(v, pl); err != nil {
			return err
		}
		if pl.Public != 0 {
			have.places[pl.ID] = pl.Public
		}
		return nil
	}); err != nil {
		return have, err
	}
	err := t.bucket(bGeoCells).ForEach(func(k, v []byte) error {
		have.cells[string(k)] = decodeCell(v).Count
		return nil
	})
	return have, err
}

// differences returns a sentence for each aggregate that differs.
func (have publicTotals) differences(want publicTotals) []string {
	var out []string
	for _, tag := range unionKeys(have.tags, want.tags) {
		if have.tags[tag] != want.tags[tag] {
			out = append(out, fmt.Sprintf("tag %s has %d public posts but counts %d", tag, want.tags[tag], have.tags[tag]))
		}
	}
	for _, id := range unionKeys(have.places, want.places) {
		if have.places[id] != want.places[id] {
			out = append(out, fmt.Sprintf("place %s has %d public posts but counts %d", id, want.places[id], have.places[id]))
		}
	}
	for _, k := range unionKeys(have.cells, want.cells) {
		if have.cells[k] != want.cells[k] {
			out = append(out, fmt.Sprintf("map cell %s has %d public posts but counts %d", k[1:], want.cells[k], have.cells[k]))
		}
	}
	return out
}

// rebuildPublic recomputes the public aggregates from the posts: the
// tags' public counts, the places' public counts and points, the map
// cells.
func (t *Tx) rebuildPublic() error {
	for _, b := range [][]byte{bTagPublic, bGeoCells} {
		var keys [][]byte
		if err := t.bucket(b).ForEach(func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil }); err != nil {
			return err
		}
		for _, k := range keys {
			if err := t.del(b, k); err != nil {
				return err
			}
		}
	}
	var places []*Place
	if err := t.bucket(bPlaces).ForEach(func(_, v []byte) error {
		pl := new(Place)
		if err := decode(v, pl); err != nil {
			return err
		}
		places = append(places, pl)
		return nil
	}); err != nil {
		return err
	}
	for _, pl := range places {
		pl.Public, pl.SumLat, pl.SumLon = 0, 0, 0
		if err := t.put(bPlaces, pl.ID.key(), pl); err != nil {
			return err
		}
	}
	var posts []*Post
	if err := t.bucket(bPosts).ForEach(func(_, v []byte) error {
		p := new(Post)
		if err := decode(v, p); err != nil {
			return err
		}
		if u, err := t.user(p.AuthorID); err == nil && publicAuthor(u) {
			posts = append(posts, p)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, p := range posts {
		if err := t.publicCount(p, 1); err != nil {
			return err
		}
	}
	return nil
}

// migrateVisibility fills the buckets of the visibility and partition
// schema from a data directory's only partition: the indexes of each
// account's likes, comments and follows, the standing of suspended
// accounts with their doings uncounted, and the public aggregates.
func migrateVisibility(t *Tx) error {
	if err := t.rebuildMirrors(); err != nil {
		return err
	}
	var suspended []ID
	if err := t.bucket(bUsers).ForEach(func(_, v []byte) error {
		u := new(User)
		if err := decode(v, u); err != nil {
			return err
		}
		if u.Suspended {
			suspended = append(suspended, u.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, id := range suspended {
		if err := t.set(bStanding, id.key(), append(ID(1).key(), 1)); err != nil {
			return err
		}
		if err := t.countDoings(id, -1); err != nil {
			return err
		}
	}
	return t.rebuildPublic()
}

// standingFaults returns a sentence for each account whose standing this
// partition records differently from the account's own record (read
// transactions only).
func (t *Tx) standingFaults(suspended map[ID]bool) []string {
	var out []string
	seen := map[ID]bool{}
	t.bucket(bStanding).ForEach(func(k, v []byte) error {
		id := idFromKey(k)
		seen[id] = true
		if hidden := len(v) == 9 && v[8] == 1; hidden != suspended[id] {
			out = append(out, fmt.Sprintf("partition %d records account %s as suspended=%v", t.part, id, hidden))
		}
		return nil
	})
	for id := range suspended {
		if !seen[id] {
			out = append(out, fmt.Sprintf("partition %d does not know that account %s is suspended", t.part, id))
		}
	}
	slices.Sort(out)
	return out
}

// unionKeys returns the keys of both maps, sorted.
func unionKeys[K cmp.Ordered, V any](a, b map[K]V) []K {
	keys := make([]K, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
