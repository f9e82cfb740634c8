package store

import (
	"cmp"
	"slices"
)

// Suggestion is an account viewer might follow, and why.
type Suggestion struct {
	User *User
	// Via is how many of the accounts viewer follows follow it (0 for an
	// account suggested for its popularity).
	Via int
	// ViaName is one of those accounts (the most followed), for "Followed
	// by …".
	ViaName string
}

// How far Suggestions looks: the accounts viewer follows most recently,
// and the accounts each of them follows most recently.
const (
	suggestFrom = 100
	suggestEach = 50
)

// Suggestions returns up to limit accounts viewer might follow: first
// those that accounts viewer follows follow (friends of friends), the
// most shared first, then popular, the accounts given (say, the authors
// of popular posts) by follower count. It never returns viewer, an
// account viewer follows or has asked to follow, one either blocks, a
// private account, or a suspended one. It fails only when storage does.
func (s *Store) Suggestions(viewer ID, popular []ID, limit int) ([]Suggestion, error) {
	if err := s.synced(viewer); err != nil {
		return nil, err
	}
	var out []Suggestion
	err := s.view(func(tx *Tx) error {
		via := map[ID]int{}
		first := map[ID]ID{} // a followee that follows the candidate, the most followed one
		firstN := map[ID]int64{}
		followees, _ := tx.pageIDs(bFollowing, viewer, Page{Limit: suggestFrom})
		for _, f := range followees {
			fu, err := tx.user(f)
			if err != nil || fu.Suspended {
				continue
			}
			theirs, _ := tx.pageIDs(bFollowing, f, Page{Limit: suggestEach})
			for _, c := range theirs {
				via[c]++
				if _, ok := first[c]; !ok || fu.Counts.Followers > firstN[c] {
					first[c], firstN[c] = f, fu.Counts.Followers
				}
			}
		}
		take := func(id ID) (*User, bool) {
			if id == viewer || tx.follows(viewer, id) || tx.has(bRequested, pair(viewer, id)) || tx.blocked(viewer, id) {
				return nil, false
			}
			u, err := tx.user(id)
			if err != nil || u.Private || u.Suspended {
				return nil, false
			}
			return u, true
		}
		seen := map[ID]bool{}
		for id, n := range via {
			if u, ok := take(id); ok {
				seen[id] = true
				name := ""
				if fu, err := tx.user(first[id]); err == nil {
					name = fu.Username
				}
				out = append(out, Suggestion{User: u, Via: n, ViaName: name})
			}
		}
		var more []Suggestion
		for _, id := range popular {
			if seen[id] {
				continue
			}
			seen[id] = true
			if u, ok := take(id); ok {
				more = append(more, Suggestion{User: u})
			}
		}
		byFollowers := func(a, b Suggestion) int {
			if a.Via != b.Via {
				return b.Via - a.Via
			}
			if a.User.Counts.Followers != b.User.Counts.Followers {
				return cmp.Compare(b.User.Counts.Followers, a.User.Counts.Followers)
			}
			return cmp.Compare(b.User.ID, a.User.ID) // newer accounts first, for a stable order
		}
		slices.SortFunc(out, byFollowers)
		slices.SortFunc(more, byFollowers)
		out = append(out, more...)
		if len(out) > limit {
			out = out[:limit]
		}
		return nil
	})
	return out, err
}
