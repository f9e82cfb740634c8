package store

import (
	"bytes"
	"fmt"
)

// RepairCounts sets every counter the invariant check compares — users'
// post, follower, following and inbox counts, posts' like and comment
// counts, tag counts — to the length of the list it counts (without
// suspended accounts' follows, likes and comments), puts every like and
// comment in its account's list, and recomputes the public counts of
// tags, places and map cells when they differ. It returns one sentence
// per counter it changed.
type RepairCounts struct {
	Meta
	On uint16 `json:"on"` // a shard of the partition repaired
}

// Shard returns On: a repair walks every record of that shard's
// partition.
func (c RepairCounts) Shard() uint16 { return c.On }

func (c RepairCounts) apply(t *Tx) ([]string, error) {
	var fixed []string
	count := func(bucket []byte, owner ID) int64 {
		n := int64(0)
		t.walkOldest(bucket, owner, 0, func(ID) bool { n++; return true })
		return n
	}
	var users []*User
	err := t.bucket(bUsers).ForEach(func(_, v []byte) error {
		u := new(User)
		if err := decode(v, u); err != nil {
			return err
		}
		users = append(users, u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		want := Counts{Posts: count(bUserPosts, u.ID), Followers: t.countedIn(bFollowers, u.ID), Following: count(bFollowing, u.ID)}
		if want != u.Counts {
			fixed = append(fixed, fmt.Sprintf("%s's counts were %+v, now %+v", u.Username, u.Counts, want))
			if err := t.count(u.ID, func(c *Counts) { *c = want }); err != nil {
				return nil, err
			}
		}
		if n, have := count(bInbox, u.ID), int64(t.counter(bInboxSize, u.ID.key())); n != have {
			fixed = append(fixed, fmt.Sprintf("%s's inbox size was %d, now %d", u.Username, have, n))
			if _, err := t.addCounter(bInboxSize, u.ID.key(), int(n-have)); err != nil {
				return nil, err
			}
		}
	}
	var posts []*Post
	if err := t.bucket(bPosts).ForEach(func(_, v []byte) error {
		p := new(Post)
		if err := decode(v, p); err != nil {
			return err
		}
		posts = append(posts, p)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, p := range posts {
		likes, comments := t.countedIn(bLikes, p.ID), t.countedIn(bPostComms, p.ID)
		if likes != p.LikeCount || comments != p.CommentCount {
			fixed = append(fixed, fmt.Sprintf("post %s counted %d likes and %d comments, now %d and %d", p.ID, p.LikeCount, p.CommentCount, likes, comments))
			p.LikeCount, p.CommentCount = likes, comments
			if err := t.put(bPosts, p.ID.key(), p); err != nil {
				return nil, err
			}
		}
	}
	tags := map[string]int{}
	if err := t.bucket(bTags).ForEach(func(k, _ []byte) error {
		if i := bytes.IndexByte(k, 0); i > 0 {
			tags[string(k[:i])]++
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var counted [][]byte
	if err := t.bucket(bTagCounts).ForEach(func(k, _ []byte) error {
		counted = append(counted, bytes.Clone(k))
		return nil
	}); err != nil {
		return nil, err
	}
	for _, k := range counted {
		if _, ok := tags[string(k)]; !ok {
			tags[string(k)] = 0
		}
	}
	for _, tag := range unionKeys(tags, nil) {
		n := tags[tag]
		if have := int(t.counter(bTagCounts, []byte(tag))); have != n {
			fixed = append(fixed, fmt.Sprintf("tag %s counted %d posts, now %d", tag, have, n))
			if _, err := t.addCounter(bTagCounts, []byte(tag), n-have); err != nil {
				return nil, err
			}
		}
	}
	if faults := t.mirrorFaults(); len(faults) > 0 {
		fixed = append(fixed, faults...)
		if err := t.rebuildMirrors(); err != nil {
			return nil, err
		}
	}
	want, err := t.expectedPublic()
	if err != nil {
		return nil, err
	}
	have, err := t.storedPublic()
	if err != nil {
		return nil, err
	}
	if diff := have.differences(want); len(diff) > 0 {
		fixed = append(fixed, diff...)
		if err := t.rebuildPublic(); err != nil {
			return nil, err
		}
	}
	return fixed, nil
}

// rebuildMirrors rewrites each account's lists of its likes, comments and
// follows in this partition from the posts' and followees' lists.
func (t *Tx) rebuildMirrors() error {
	for _, b := range [][]byte{bUserLikes, bUserComms, bFollowersBy} {
		var keys [][]byte
		if err := t.bucket(b).ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil }); err != nil {
			return err
		}
		for _, k := range keys {
			if err := t.unmark(b, k); err != nil {
				return err
			}
		}
	}
	var keys [][]byte
	if err := t.bucket(bLikes).ForEach(func(k, _ []byte) error {
		if len(k) == 16 {
			keys = append(keys, pair(idFromKey(k[8:]), idFromKey(k[:8])))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.mark(bUserLikes, k, nil); err != nil {
			return err
		}
	}
	keys = keys[:0]
	if err := t.bucket(bComments).ForEach(func(_, v []byte) error {
		cm := new(Comment)
		if err := decode(v, cm); err != nil {
			return err
		}
		keys = append(keys, pair(cm.AuthorID, cm.ID))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.mark(bUserComms, k, nil); err != nil {
			return err
		}
	}
	keys = keys[:0]
	if err := t.bucket(bFollowers).ForEach(func(k, _ []byte) error {
		if len(k) == 16 {
			keys = append(keys, pair(idFromKey(k[8:]), idFromKey(k[:8])))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.mark(bFollowersBy, k, nil); err != nil {
			return err
		}
	}
	return nil
}

// StrayInboxEntries returns home-feed entries that should not be there:
// posts that no longer exist, and posts of authors the inbox's owner
// neither is nor follows. Background jobs remove such entries after a
// delete or unfollow, so strays only mean something once the outbox is
// empty. Each is [owner, post].
func (s *Store) StrayInboxEntries(limit int) ([][2]ID, error) {
	var out [][2]ID
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bInbox).Cursor()
			for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
				if len(k) != 16 {
					continue
				}
				owner, post := idFromKey(k[:8]), idFromKey(k[8:])
				p, err := tx.post(post)
				if err != nil || (p.AuthorID != owner && !tx.follows(owner, p.AuthorID)) {
					out = append(out, [2]ID{owner, post})
				}
			}
			return nil
		})
	})
	return out, err
}

// RemoveInboxEntries takes stray entries out of home feeds.
type RemoveInboxEntries struct {
	Meta
	Entries [][2]ID // [owner, post], all in one partition
}

// Shard returns the first entry's owner's shard.
func (c RemoveInboxEntries) Shard() uint16 {
	if len(c.Entries) == 0 {
		return 0
	}
	return c.Entries[0][0].Shard()
}

func (c RemoveInboxEntries) apply(t *Tx) (int, error) {
	for _, e := range c.Entries {
		if err := t.inboxRemove(e[0], e[1]); err != nil {
			return 0, err
		}
	}
	return len(c.Entries), nil
}
