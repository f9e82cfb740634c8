package store

import (
	"bytes"
	"fmt"
)

// Check verifies the invariants that counters and the two sides of every
// edge keep, over every partition: every user's post, follower and
// following counts equal the lists they count; every post's like and
// comment counts equal its lists; every follow, request and block is
// held by both sides; no follow crosses a block; tag counts equal the
// tag index; inbox sizes equal the inboxes; every username in the global
// facts names its account. Edges are kept in step through the outbox, so
// only a drained outbox is expected to pass. It returns one sentence per
// violation (none when all hold).
func (s *Store) Check() ([]string, error) {
	var bad []string
	report := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	err := s.view(func(tx *Tx) error {
		count := func(bucket []byte, owner ID) int64 {
			n := int64(0)
			tx.walkOldest(bucket, owner, 0, func(ID) bool { n++; return true })
			return n
		}
		return tx.eachPart(func(pt *Tx) error {
			if err := pt.bucket(bUsers).ForEach(func(k, v []byte) error {
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
				if id, err := s.lookupUsername(u.Username); err != nil || id != u.ID {
					report("the username %s does not name its account", u.Username)
				}
				return nil
			}); err != nil {
				return err
			}
			// Each side of an edge, against the other side.
			for _, e := range []struct {
				bucket, other []byte
				what          string
			}{
				{bFollowing, bFollowers, "follow %s→%s has no follower edge"},
				{bFollowers, bFollowing, "follower edge %s←%s has no follow"},
				{bRequested, bRequests, "request %s→%s is not pending with its target"},
				{bRequests, bRequested, "pending request %s←%s was not made"},
				{bBlocks, bBlockedBy, "block %s→%s is not known to the blocked account"},
				{bBlockedBy, bBlocks, "%s is blocked by %s, who does not block them"},
			} {
				if err := pt.bucket(e.bucket).ForEach(func(k, _ []byte) error {
					a, b := idFromKey(k[:8]), idFromKey(k[8:])
					if !tx.has(e.other, pair(b, a)) {
						report(e.what, a, b)
					}
					if bytes.Equal(e.bucket, bFollowing) && tx.blocked(a, b) {
						report("follow %s→%s crosses a block", a, b)
					}
					return nil
				}); err != nil {
					return err
				}
			}
			if err := pt.bucket(bPosts).ForEach(func(k, v []byte) error {
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
			if err := pt.bucket(bTags).ForEach(func(k, _ []byte) error {
				if i := bytes.IndexByte(k, 0); i > 0 {
					tags[string(k[:i])]++
				}
				return nil
			}); err != nil {
				return err
			}
			if err := pt.bucket(bTagCounts).ForEach(func(k, _ []byte) error {
				if n := pt.counter(bTagCounts, k); n != tags[string(k)] {
					report("tag %s has %d posts but counts %d (partition %d)", k, tags[string(k)], n, pt.part)
				}
				delete(tags, string(k))
				return nil
			}); err != nil {
				return err
			}
			for tag, n := range tags {
				report("tag %s has %d posts but no count (partition %d)", tag, n, pt.part)
			}
			return nil
		})
	})
	return bad, err
}
