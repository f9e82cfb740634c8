package store

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sort"
)

// inboxAdd puts post, by author, in user's home-feed inbox (the entry's
// value is the author, so an unfollow can take the author's posts out
// without reading them), trimming the oldest entries once the inbox is a
// tenth over its cap.
func (t *Tx) inboxAdd(user, post, author ID) error {
	key := pair(user, post)
	if t.has(bInbox, key) {
		return nil
	}
	if err := t.mark(bInbox, key, author.key()); err != nil {
		return err
	}
	n, err := t.addCounter(bInboxSize, user.key(), 1)
	if err != nil {
		return err
	}
	limit := t.config().InboxCap
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

// InboxEntry is one post, by its author, for one user's home feed.
type InboxEntry struct {
	User   ID `json:"user"`
	Post   ID `json:"post"`
	Author ID `json:"author,omitempty"`
}

// Fanout puts posts into home-feed inboxes: the next followers of one or
// more new posts, all in one partition. The worker sends the entries in
// key order (user, then post), so each inbox page is rewritten once
// however many of the posts reach it. An entry for a user who no longer
// follows the author is skipped, and an entry put twice changes nothing,
// so a retried job is safe. (A post deleted meanwhile is taken out again
// by its deletion's job, which waits for the fan-out to finish.) Its
// result is how many entries it applied.
type Fanout struct {
	Meta
	Entries []InboxEntry `json:"entries"`
}

func (Fanout) bulk() {}

// Shard returns the first entry's user's shard: the worker sends one
// command per partition of the followers.
func (c Fanout) Shard() uint16 { return entriesShard(c.Entries) }

func entriesShard(entries []InboxEntry) uint16 {
	if len(entries) == 0 {
		return 0
	}
	return entries[0].User.Shard()
}

func (c Fanout) apply(tx *Tx) (int, error) {
	n := 0
	for _, e := range c.Entries {
		if e.Author != e.User && !tx.follows(e.User, e.Author) {
			continue // unfollowed meanwhile
		}
		if err := tx.inboxAdd(e.User, e.Post, e.Author); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// Unfan takes posts out of home-feed inboxes of one partition: a deleted
// post out of its author's followers'. Taking out an entry that is not
// there changes nothing.
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

// UnfanAuthor takes an unfollowed (or blocked) author's posts out of one
// user's feed, unless the user follows the author again by then: every
// entry whose value names the author, and Posts, the entries written
// before entries named their author, which prepare looked up.
type UnfanAuthor struct {
	Meta
	User   ID   `json:"user"`
	Author ID   `json:"author"`
	Posts  []ID `json:"posts,omitempty"`
}

// Shard returns the user's shard.
func (c UnfanAuthor) Shard() uint16 { return c.User.Shard() }

func (c UnfanAuthor) prepare(_ context.Context, s *Store) (Command[int], func(int, error) (int, error), error) {
	c.Posts = nil
	err := s.view(func(tx *Tx) error {
		var unnamed []ID
		tx.walkInbox(c.User, func(post, author ID) bool {
			if author == 0 {
				unnamed = append(unnamed, post)
			}
			return true
		})
		for _, id := range unnamed {
			if p, err := tx.post(id); err == nil && p.AuthorID == c.Author {
				c.Posts = append(c.Posts, id)
			}
		}
		return nil
	})
	return c, nil, err
}

func (c UnfanAuthor) apply(tx *Tx) (int, error) {
	if c.User == c.Author || tx.follows(c.User, c.Author) {
		return 0, nil // followed again meanwhile
	}
	posts := c.Posts
	tx.walkInbox(c.User, func(post, author ID) bool {
		if author == c.Author {
			posts = append(posts, post)
		}
		return true
	})
	for _, p := range posts {
		if err := tx.inboxRemove(c.User, p); err != nil {
			return 0, err
		}
	}
	return len(posts), nil
}

// walkInbox calls fn with each post in user's inbox and its author (0 for
// entries older than authors in entries), oldest first, until fn returns
// false.
func (t *Tx) walkInbox(user ID, fn func(post, author ID) bool) {
	prefix := user.key()
	c := t.at(bInbox, prefix).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var author ID
		if len(v) == 8 {
			author = idFromKey(v)
		}
		if !fn(idFromKey(k[8:]), author) {
			return
		}
	}
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
		if err := tx.inboxAdd(c.User, p, c.Author); err != nil {
			return struct{}{}, err
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
		// below the cursor. Each partition knows its own celebrities.
		for _, celeb := range tx.celebrities() {
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

// RebuildInbox fills a user's inbox from scratch with Entries: the newest
// posts of the accounts they follow (and their own), up to the cap, which
// InboxFor finds; for bulk loads and repairs. Entries of authors the user
// does not follow are skipped. Its result is the number of entries.
type RebuildInbox struct {
	Meta
	User    ID           `json:"user"`
	Entries []InboxEntry `json:"entries"`
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
	entries := slices.Clone(c.Entries)
	slices.SortFunc(entries, func(a, b InboxEntry) int { return cmp.Compare(b.Post, a.Post) })
	n := 0
	for _, e := range entries {
		if n == tx.config().InboxCap {
			break
		}
		if e.Author != c.User && !tx.follows(c.User, e.Author) {
			continue
		}
		if err := tx.mark(bInbox, pair(c.User, e.Post), e.Author.key()); err != nil {
			return 0, err
		}
		n++
	}
	if n > 0 {
		if _, err := tx.addCounter(bInboxSize, c.User.key(), n); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// InboxFor returns what a rebuilt inbox of user holds: the newest posts
// of the user and of every account they follow that is not read at feed
// time, up to limit.
func (s *Store) InboxFor(user ID, limit int) ([]InboxEntry, error) {
	var out []InboxEntry
	err := s.view(func(tx *Tx) error {
		celebs := map[ID]bool{}
		for _, c := range tx.celebrities() {
			celebs[c] = true
		}
		authors := []ID{user}
		tx.walkOldest(bFollowing, user, 0, func(a ID) bool {
			if !celebs[a] {
				authors = append(authors, a)
			}
			return true
		})
		for _, a := range authors {
			n := 0
			tx.walkNewest(bUserPosts, a, 0, func(p ID) bool {
				out = append(out, InboxEntry{User: user, Post: p, Author: a})
				n++
				return n < limit
			})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b InboxEntry) int { return cmp.Compare(b.Post, a.Post) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// celebrities returns the authors read at feed time, from every
// partition.
func (t *Tx) celebrities() []ID {
	var out []ID
	t.eachPart(func(pt *Tx) error {
		c := pt.bucket(bCelebs).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			out = append(out, idFromKey(k))
		}
		return nil
	})
	return out
}

// UserIDs returns every user's ID, in ID order.
func (s *Store) UserIDs() ([]ID, error) {
	var ids []ID
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			return pt.bucket(bUsers).ForEach(func(k, _ []byte) error {
				ids = append(ids, idFromKey(k))
				return nil
			})
		})
	})
	slices.Sort(ids)
	return ids, err
}
