package store

import "sort"

// inboxAdd puts post in user's home-feed inbox, trimming the oldest
// entries once the inbox is a tenth over its cap.
func (t *Tx) inboxAdd(user, post ID) error {
	key := pair(user, post)
	if t.has(bInbox, key) {
		return nil
	}
	if err := t.mark(bInbox, key, nil); err != nil {
		return err
	}
	n, err := t.addCounter(bInboxSize, user.key(), 1)
	if err != nil {
		return err
	}
	limit := t.opt.InboxCap
	if int(n) <= limit+limit/10 {
		return nil
	}
	var old [][]byte
	c := t.bucket(bInbox).Cursor()
	prefix := user.key()
	for k, _ := c.Seek(prefix); k != nil && len(old) < int(n)-limit && string(k[:8]) == string(prefix); k, _ = c.Next() {
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := t.unmark(bInbox, k); err != nil {
			return err
		}
	}
	_, err = t.addCounter(bInboxSize, user.key(), -len(old))
	return err
}

func (t *Tx) inboxRemove(user, post ID) error {
	key := pair(user, post)
	if !t.has(bInbox, key) {
		return nil
	}
	if err := t.unmark(bInbox, key); err != nil {
		return err
	}
	_, err := t.addCounter(bInboxSize, user.key(), -1)
	return err
}

// InboxEntry is one post for one user's home feed.
type InboxEntry struct {
	User ID `json:"user"`
	Post ID `json:"post"`
}

// Fanout puts posts into home-feed inboxes: the next followers of one or
// more new posts. The worker sends the entries in key order (user, then
// post), so each inbox page is rewritten once however many of the posts
// reach it. A post deleted meanwhile is skipped, and an entry put twice
// changes nothing, so a retried job is safe. Its result is how many
// entries it applied.
type Fanout struct {
	Meta
	Entries []InboxEntry `json:"entries"`
}

func (Fanout) bulk() {}

// Shard returns the first entry's user's shard (in cluster mode, one
// command per partition of the followers).
func (c Fanout) Shard() uint16 { return entriesShard(c.Entries) }

func entriesShard(entries []InboxEntry) uint16 {
	if len(entries) == 0 {
		return 0
	}
	return entries[0].User.Shard()
}

func (c Fanout) apply(tx *Tx) (int, error) {
	live := map[ID]bool{}
	n := 0
	for _, e := range c.Entries {
		ok, seen := live[e.Post]
		if !seen {
			ok = tx.has(bPosts, e.Post.key())
			live[e.Post] = ok
		}
		if !ok {
			continue // deleted meanwhile
		}
		if err := tx.inboxAdd(e.User, e.Post); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// Unfan takes posts out of home-feed inboxes: a deleted post out of its
// author's followers' (a batch of them), or an unfollowed author's posts
// out of one feed. Taking out an entry that is not there changes nothing.
type Unfan struct {
	Meta
	Entries []InboxEntry `json:"entries"`
}

func (Unfan) bulk() {}

// Shard returns the first entry's user's shard.
func (c Unfan) Shard() uint16 { return entriesShard(c.Entries) }

func (c Unfan) apply(tx *Tx) (struct{}, error) {
	for _, e := range c.Entries {
		if err := tx.inboxRemove(e.User, e.Post); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
}

// Backfill puts Posts (the author's recent ones) in User's inbox, if User
// still follows the author.
type Backfill struct {
	Meta
	User   ID   `json:"user"`
	Author ID   `json:"author"`
	Posts  []ID `json:"posts"`
}

// Shard returns the user's shard.
func (c Backfill) Shard() uint16 { return c.User.Shard() }

func (c Backfill) apply(tx *Tx) (struct{}, error) {
	if !tx.follows(c.User, c.Author) {
		return struct{}{}, nil
	}
	for _, p := range c.Posts {
		if tx.has(bPosts, p.key()) {
			if err := tx.inboxAdd(c.User, p); err != nil {
				return struct{}{}, err
			}
		}
	}
	return struct{}{}, nil
}

// FollowerBatch returns up to n followers of user after the cursor, in ID
// order, and whether there are more.
func (s *Store) FollowerBatch(user, after ID, n int) (ids []ID, more bool, err error) {
	err = s.view(func(tx *Tx) error {
		tx.walkOldest(bFollowers, user, after, func(id ID) bool {
			if len(ids) == n {
				more = true
				return false
			}
			ids = append(ids, id)
			return true
		})
		return nil
	})
	return ids, more, err
}

// RecentPostIDs returns the IDs of the author's n newest posts.
func (s *Store) RecentPostIDs(author ID, n int) ([]ID, error) {
	var ids []ID
	err := s.view(func(tx *Tx) error {
		tx.walkNewest(bUserPosts, author, 0, func(id ID) bool {
			ids = append(ids, id)
			return len(ids) < n
		})
		return nil
	})
	return ids, err
}

// Feed returns a page of user's home feed, newest first: the inbox merged
// with the recent posts of followed authors who are read at feed time
// (celebrities), in one read transaction. Pages by Before are stable
// while new posts arrive, since IDs only grow.
func (s *Store) Feed(user ID, p Page) (PostPage, error) {
	p = p.norm()
	var out PostPage
	err := s.view(func(tx *Tx) error {
		ids := make(map[ID]bool, p.Limit+1)
		merged := make([]ID, 0, p.Limit+1)
		take := func(id ID) bool {
			if !ids[id] {
				ids[id] = true
				merged = append(merged, id)
			}
			return len(merged) < p.Limit+1
		}
		tx.walkNewest(bInbox, user, p.Before, take)
		// Celebrities the user follows: each contributes its newest posts
		// below the cursor.
		c := tx.bucket(bCelebs).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			celeb := idFromKey(k)
			if !tx.follows(user, celeb) {
				continue
			}
			n := 0
			tx.walkNewest(bUserPosts, celeb, p.Before, func(id ID) bool {
				if !ids[id] {
					ids[id] = true
					merged = append(merged, id)
				}
				n++
				return n < p.Limit+1
			})
		}
		sort.Slice(merged, func(i, j int) bool { return merged[i] > merged[j] })
		if len(merged) > p.Limit {
			merged = merged[:p.Limit]
			out.Next = merged[len(merged)-1]
		}
		for _, post := range tx.posts(merged) {
			if _, err := tx.canSeePost(user, post); err == nil {
				out.Posts = append(out.Posts, post)
			}
		}
		out.Hydrated = tx.hydrate(user, out.Posts)
		return nil
	})
	return out, err
}

// RebuildInbox fills a user's inbox from scratch with the newest posts of
// the accounts they follow (and their own), up to the cap: for bulk loads
// and repairs. Its result is the number of entries.
type RebuildInbox struct {
	Meta
	User ID `json:"user"`
}

// Shard returns the user's shard.
func (c RebuildInbox) Shard() uint16 { return c.User.Shard() }

func (c RebuildInbox) apply(tx *Tx) (int, error) {
	var old []ID
	tx.walkOldest(bInbox, c.User, 0, func(p ID) bool { old = append(old, p); return true })
	for _, p := range old {
		if err := tx.unmark(bInbox, pair(c.User, p)); err != nil {
			return 0, err
		}
	}
	if err := tx.unmark(bInboxSize, c.User.key()); err != nil {
		return 0, err
	}
	authors := []ID{c.User}
	tx.walkOldest(bFollowing, c.User, 0, func(a ID) bool {
		if !tx.has(bCelebs, a.key()) {
			authors = append(authors, a)
		}
		return true
	})
	limit := tx.opt.InboxCap
	var posts []ID
	for _, a := range authors {
		n := 0
		tx.walkNewest(bUserPosts, a, 0, func(p ID) bool {
			posts = append(posts, p)
			n++
			return n < limit
		})
	}
	sort.Slice(posts, func(i, j int) bool { return posts[i] > posts[j] })
	if len(posts) > limit {
		posts = posts[:limit]
	}
	for _, p := range posts {
		if err := tx.mark(bInbox, pair(c.User, p), nil); err != nil {
			return 0, err
		}
	}
	if len(posts) > 0 {
		if _, err := tx.addCounter(bInboxSize, c.User.key(), len(posts)); err != nil {
			return 0, err
		}
	}
	return len(posts), nil
}

// UserIDs returns every user's ID, in ID order.
func (s *Store) UserIDs() ([]ID, error) {
	var ids []ID
	err := s.view(func(tx *Tx) error {
		return tx.bucket(bUsers).ForEach(func(k, _ []byte) error {
			ids = append(ids, idFromKey(k))
			return nil
		})
	})
	return ids, err
}
