package store

import (
	"bytes"
	"fmt"
)

// Check verifies the invariants that counters and the two sides of every
// edge keep, over every partition: every user's post, follower and
// following counts equal the lists they count, and every post's like and
// comment counts its lists (suspended accounts' follows, likes and
// comments not counted); every follow, request and block is held by both
// sides; no follow crosses a block; tag counts equal the tag index; inbox
// sizes equal the inboxes; every username in the global facts names its
// account; each partition's indexes of accounts' likes, comments and
// follows match what they index, and it knows every suspension; the
// public counts of tags, places and map cells equal the public posts
// they count. Edges are kept in step through the outbox, so only a
// drained outbox is expected to pass. It returns one sentence per
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
		suspended := map[ID]bool{}
		if err := tx.eachPart(func(pt *Tx) error {
			return pt.bucket(bUsers).ForEach(func(k, v []byte) error {
				u := new(User)
				if err := decode(v, u); err == nil && u.Suspended {
					suspended[u.ID] = true
				}
				return nil
			})
		}); err != nil {
			return err
		}
		return tx.eachPart(func(pt *Tx) error {
			for _, m := range pt.standingFaults(suspended) {
				report("%s", m)
			}
			for _, m := range pt.mirrorFaults() {
				report("%s", m)
			}
			want, err := pt.expectedPublic()
			if err != nil {
				return err
			}
			have, err := pt.storedPublic()
			if err != nil {
				return err
			}
			bad = append(bad, have.differences(want)...)
			if err := pt.bucket(bUsers).ForEach(func(k, v []byte) error {
				u := new(User)
				if err := decode(v, u); err != nil {
					return err
				}
				if n := count(bUserPosts, u.ID); n != u.Counts.Posts {
					report("%s has %d posts but counts %d", u.Username, n, u.Counts.Posts)
				}
				if n := tx.countedIn(bFollowers, u.ID); n != u.Counts.Followers {
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
				if n := tx.countedIn(bLikes, p.ID); n != p.LikeCount {
					report("post %s has %d likes but counts %d", p.ID, n, p.LikeCount)
				}
				if n := tx.countedIn(bPostComms, p.ID); n != p.CommentCount {
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

// countedIn returns how many of the follows, likes or comments listed
// under owner in bucket (bFollowers, bLikes or bPostComms) are counted:
// those of accounts that are not suspended.
func (t *Tx) countedIn(bucket []byte, owner ID) int64 {
	n := int64(0)
	t.walkOldest(bucket, owner, 0, func(item ID) bool {
		who := item
		if string(bucket) == string(bPostComms) {
			cm := new(Comment)
			if t.get(bComments, item.key(), cm, "comment") != nil {
				return true
			}
			who = cm.AuthorID
		}
		if !t.hidden(who) {
			n++
		}
		return true
	})
	return n
}

// mirrorFaults returns a sentence for each like, comment or follow of the
// partition t is on that is missing from its account's index (bUserLikes,
// bUserComms, bFollowersBy), or indexed there but gone.
func (t *Tx) mirrorFaults() []string {
	var out []string
	for _, m := range []struct {
		list, index []byte
		missing     string
		gone        string
	}{
		{bLikes, bUserLikes, "the like of post %s by %s is not in the account's likes", "%s's likes list post %s, which it does not like"},
		{bFollowers, bFollowersBy, "the follow of %s by %s is not in the account's follows", "%s's follows list %s, who has no such follower"},
	} {
		t.bucket(m.list).ForEach(func(k, _ []byte) error {
			if len(k) == 16 && !t.has(m.index, pair(idFromKey(k[8:]), idFromKey(k[:8]))) {
				out = append(out, fmt.Sprintf(m.missing, idFromKey(k[:8]), idFromKey(k[8:])))
			}
			return nil
		})
		t.bucket(m.index).ForEach(func(k, _ []byte) error {
			if len(k) == 16 && !t.has(m.list, pair(idFromKey(k[8:]), idFromKey(k[:8]))) {
				out = append(out, fmt.Sprintf(m.gone, idFromKey(k[:8]), idFromKey(k[8:])))
			}
			return nil
		})
	}
	t.bucket(bComments).ForEach(func(_, v []byte) error {
		cm := new(Comment)
		if decode(v, cm) == nil && !t.has(bUserComms, pair(cm.AuthorID, cm.ID)) {
			out = append(out, fmt.Sprintf("comment %s is not in its author's comments", cm.ID))
		}
		return nil
	})
	t.bucket(bUserComms).ForEach(func(k, _ []byte) error {
		if len(k) == 16 && !t.has(bComments, k[8:]) {
			out = append(out, fmt.Sprintf("%s's comments list %s, which is gone", idFromKey(k[:8]), idFromKey(k[8:])))
		}
		return nil
	})
	return out
}
