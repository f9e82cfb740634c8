package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func ptrTo[T any](v T) *T { return &v }

// TestRepairVisibility: each invariant of visibility broken behind the
// commands' back — a public count of a tag, a place or a map cell, an
// account's list of its likes or comments, a suspended account's like,
// comment or follow counted — is found by Check and set right by
// RepairCounts.
func TestRepairVisibility(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(tx *Tx, ids map[string]ID) error
	}{
		{"a tag's public count", func(tx *Tx, _ map[string]ID) error {
			_, err := tx.addCounter(bTagPublic, []byte("hush"), 1) // a private account's tag
			return err
		}},
		{"a place's public count", func(tx *Tx, ids map[string]ID) error {
			pl := new(Place)
			tx.get(bPlaces, ids["place"].key(), pl, "place")
			pl.Public++
			return tx.put(bPlaces, pl.ID.key(), pl)
		}},
		{"a map cell", func(tx *Tx, ids map[string]ID) error {
			p, _ := tx.post(ids["private post"])
			return tx.geoCount(p, 1)
		}},
		{"a like missing from its account's list", func(tx *Tx, ids map[string]ID) error {
			return tx.unmark(bUserLikes, pair(ids["ben"], ids["post"]))
		}},
		{"a comment listed under an account but gone", func(tx *Tx, ids map[string]ID) error {
			return tx.mark(bUserComms, pair(ids["ben"], ids["post"]+7), nil)
		}},
		{"a suspended account's like counted", func(tx *Tx, ids map[string]ID) error {
			p, _ := tx.post(ids["post"])
			p.LikeCount++
			return tx.put(bPosts, p.ID.key(), p)
		}},
		{"a suspended account's follow counted", func(tx *Tx, ids map[string]ID) error {
			return tx.count(ids["ana"], func(c *Counts) { c.Followers++ })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openOne(t) // the breakage below writes one file directly
			ctx := context.Background()
			now := time.Now()
			must := func(_ any, err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			user := func(name string, admin bool) *User {
				u, err := Exec(ctx, s, CreateUser{Meta: At(now), Username: name, PasswordHash: "h", Admin: admin})
				must(u, err)
				return u
			}
			boss, ana, ben, cy, hid := user("boss", true), user("ana", false), user("ben", false), user("cy", false), user("hid", false)
			must(Exec(ctx, s, UpdateProfile{Meta: At(now), UserID: hid.ID, Private: ptrTo(true)}))
			post := func(u *User, n int, caption string) *Post {
				m, err := Exec(ctx, s, CreateMedia{Meta: At(now), OwnerID: u.ID, Hash: fmt.Sprintf("%064x", n)})
				must(m, err)
				p, err := Exec(ctx, s, CreatePost{Meta: At(now), AuthorID: u.ID, Caption: caption, MediaIDs: []ID{m.ID},
					Location: &Location{Name: "Cove", Lat: 1, Lon: 1}})
				must(p, err)
				return p
			}
			p := post(ana, 1, "#sea")
			hp := post(hid, 2, "#hush")
			must(Exec(ctx, s, Like{Meta: At(now), UserID: ben.ID, PostID: p.ID}))
			must(Exec(ctx, s, Like{Meta: At(now), UserID: cy.ID, PostID: p.ID}))
			must(Exec(ctx, s, AddComment{Meta: At(now), AuthorID: ben.ID, PostID: p.ID, Text: "hi"}))
			must(Exec(ctx, s, Follow{Meta: At(now), FollowerID: cy.ID, TargetID: ana.ID}))
			must(Exec(ctx, s, SetSuspended{Meta: At(now), AdminID: boss.ID, UserID: cy.ID, Suspended: true}))
			if bad, _ := s.Check(); len(bad) != 0 {
				t.Fatalf("a healthy store: %v", bad)
			}
			ids := map[string]ID{"ana": ana.ID, "ben": ben.ID, "post": p.ID, "private post": hp.ID, "place": PlaceID(*p.Location)}
			var dirty []cacheKey
			if err := s.parts[0].db.Update(func(btx *bolt.Tx) error {
				tx := &Tx{tx: btx, now: now, opt: &s.opt}
				err := tc.breakIt(tx, ids)
				dirty = tx.dirty
				return err
			}); err != nil {
				t.Fatal(err)
			}
			s.cache.invalidate(dirty)
			bad, _ := s.Check()
			if len(bad) == 0 {
				t.Fatal("check found nothing")
			}
			fixed, err := Exec(ctx, s, RepairCounts{Meta: At(now)})
			if err != nil || len(fixed) == 0 {
				t.Fatalf("repair: %v %v", fixed, err)
			}
			if bad, _ := s.Check(); len(bad) != 0 {
				t.Fatalf("after repair (%v): %v", fixed, bad)
			}
		})
	}
}
