package store

import (
	"bytes"
	"fmt"
)

// Check verifies the invariants that counters keep: every user's post,
// follower and following counts equal the lists they count, every post's
// like and comment counts equal its lists, follow edges exist both ways,
// tag counts equal the tag index, and inbox sizes equal the inboxes;
// suspended accounts' follows, likes and comments are not counted; each
// account's lists of its likes and comments match the posts' lists; and
// the public counts of tags, places and map cells equal the public posts
// they count. It returns one sentence per violation (none when all hold).
func (s *Store) Check() ([]string, error) {
	var bad []string
	report := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	err := s.view(func(tx *Tx) error {
		count := func(bucket []byte, owner ID) int64 {
			n := int64(0)
			tx.walkOldest(bucket, owner, 0, func(ID) bool { n++; return true })
			return n
		}
		counted := tx.countedIn
		if err := tx.bucket(bUsers).ForEach(func(k, v []byte) error {
			u := new(User)
			if err := decode(v, u); err != nil {
				return err
			}
			if n := count(bUserPosts, u.ID); n != u.Counts.Posts {
				report("%s has %d posts but counts %d", u.Username, n, u.Counts.Posts)
			}
			if n := counted(bFollowers, u.ID); n != u.Counts.Followers {
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
			if n := counted(bLikes, p.ID); n != p.LikeCount {
				report("post %s has %d likes but counts %d", p.ID, n, p.LikeCount)
			}
			if n := counted(bPostComms, p.ID); n != p.CommentCount {
				report("post %s has %d comments but counts %d", p.ID, n, p.CommentCount)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, m := range tx.mirrorFaults() {
			report("%s", m)
		}
		want, err := tx.expectedPublic()
		if err != nil {
			return err
		}
		have, err := tx.storedPublic()
		if err != nil {
			return err
		}
		bad = append(bad, have.differences(want)...)
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

// mirrorFaults returns a sentence for each like or comment missing from
// its account's list (bUserLikes, bUserComms), or listed there but gone.
func (t *Tx) mirrorFaults() []string {
	var out []string
	t.bucket(bLikes).ForEach(func(k, _ []byte) error {
		if len(k) == 16 && !t.has(bUserLikes, pair(idFromKey(k[8:]), idFromKey(k[:8]))) {
			out = append(out, fmt.Sprintf("the like of post %s by %s is not in the account's likes", idFromKey(k[:8]), idFromKey(k[8:])))
		}
		return nil
	})
	t.bucket(bUserLikes).ForEach(func(k, _ []byte) error {
		if len(k) == 16 && !t.has(bLikes, pair(idFromKey(k[8:]), idFromKey(k[:8]))) {
			out = append(out, fmt.Sprintf("%s's likes list post %s, which it does not like", idFromKey(k[:8]), idFromKey(k[8:])))
		}
		return nil
	})
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
