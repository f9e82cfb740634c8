package store

import (
	"bytes"
	"fmt"
)

// Check verifies the invariants that counters keep: every user's post,
// follower and following counts equal the lists they count, every post's
// like and comment counts equal its lists, follow edges exist both ways,
// tag counts equal the tag index, and inbox sizes equal the inboxes. It
// returns one sentence per violation (none when all hold).
func (s *Store) Check() ([]string, error) {
	var bad []string
	report := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	err := s.view(func(tx *Tx) error {
		count := func(bucket []byte, owner ID) int64 {
			n := int64(0)
			tx.walkOldest(bucket, owner, 0, func(ID) bool { n++; return true })
			return n
		}
		if err := tx.bucket(bUsers).ForEach(func(k, v []byte) error {
			u := new(User)
			if err := decode(v, u); err != nil {
				return err
			}
			if n := count(bUserPosts, u.ID); n != u.Counts.Posts {
				report("%s has %d posts but counts %d", u.Username, n, u.Counts.Posts)
			}
			if n := count(bFollowers, u.ID); n != u.Counts.Followers {
				report("%s has %d followers but counts %d", u.Username, n, u.Counts.Followers)
			}
			if n := count(bFollowing, u.ID); n != u.Counts.Following {
				report("%s follows %d but counts %d", u.Username, n, u.Counts.Following)
			}
			if n := count(bInbox, u.ID); n != int64(tx.counter(bInboxSize, u.ID.key())) {
				report("%s's inbox has %d posts but counts %d", u.Username, n, tx.counter(bInboxSize, u.ID.key()))
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.bucket(bFollowing).ForEach(func(k, _ []byte) error {
			if !tx.has(bFollowers, pair(idFromKey(k[8:]), idFromKey(k[:8]))) {
				report("follow %s→%s has no follower edge", idFromKey(k[:8]), idFromKey(k[8:]))
			}
			if tx.blocked(idFromKey(k[:8]), idFromKey(k[8:])) {
				report("follow %s→%s crosses a block", idFromKey(k[:8]), idFromKey(k[8:]))
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.bucket(bPosts).ForEach(func(k, v []byte) error {
			p := new(Post)
			if err := decode(v, p); err != nil {
				return err
			}
			if n := count(bLikes, p.ID); n != p.LikeCount {
				report("post %s has %d likes but counts %d", p.ID, n, p.LikeCount)
			}
			if n := count(bPostComms, p.ID); n != p.CommentCount {
				report("post %s has %d comments but counts %d", p.ID, n, p.CommentCount)
			}
			return nil
		}); err != nil {
			return err
		}
		tags := map[string]uint32{}
		if err := tx.bucket(bTags).ForEach(func(k, _ []byte) error {
			if i := bytes.IndexByte(k, 0); i > 0 {
				tags[string(k[:i])]++
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.bucket(bTagCounts).ForEach(func(k, _ []byte) error {
			if n := tx.counter(bTagCounts, k); n != tags[string(k)] {
				report("tag %s has %d posts but counts %d", k, tags[string(k)], n)
			}
			delete(tags, string(k))
			return nil
		}); err != nil {
			return err
		}
		for tag, n := range tags {
			report("tag %s has %d posts but no count", tag, n)
		}
		return nil
	})
	return bad, err
}
