package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestMigrateVisibility writes data as schema 9 kept it — no public
// counts or per-account lists of likes and comments, map cells counting
// every post, a suspended account's likes, comments and follows counted —
// and checks that opening it migrates to exactly what this build would
// have written.
func TestMigrateVisibility(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	n := 0
	run := func(cmd interface{ Shard() uint16 }) {
		t.Helper()
		at = at.Add(time.Second)
		var err error
		switch c := cmd.(type) {
		case CreateUser:
			c.Meta = At(at)
			_, err = Exec(ctx, s, c)
		case UpdateProfile:
			c.Meta = At(at)
			_, err = Exec(ctx, s, c)
		case Follow:
			c.Meta = At(at)
			_, err = Exec(ctx, s, c)
		case Like:
			c.Meta = At(at)
			_, err = Exec(ctx, s, c)
		case AddComment:
			c.Meta = At(at)
			_, err = Exec(ctx, s, c)
		case SetSuspended:
			c.Meta = At(at)
			_, err = Exec(ctx, s, c)
		}
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	user := func(name string, admin bool) *User {
		run(CreateUser{Username: name, PasswordHash: "x", Admin: admin})
		u, _ := s.UserByUsername(name)
		return u
	}
	post := func(u *User, caption string, loc Location) *Post {
		n++
		at = at.Add(time.Second)
		m, err := Exec(ctx, s, CreateMedia{Meta: At(at), OwnerID: u.ID, Hash: string(bytes.Repeat([]byte{"0123456789"[n]}, 64))})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Exec(ctx, s, CreatePost{Meta: At(at), AuthorID: u.ID, Caption: caption, MediaIDs: []ID{m.ID}, Location: &loc})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	boss, x, y, hid := user("boss", true), user("x", false), user("y", false), user("hid", false)
	run(UpdateProfile{UserID: hid.ID, Private: ptrTo(true)})
	lisbon := Location{Name: "Lisbon", Lat: 38.7223, Lon: -9.1393}
	p := post(y, "#dusk", lisbon)
	post(y, "#dusk and #sea", Location{Name: "lisbon", Lat: 38.7201, Lon: -9.1402})
	post(hid, "#hush", Location{Name: "Secret Cove", Lat: -33.9, Lon: 18.4})
	post(hid, "#dusk", lisbon)
	post(x, "#dusk", lisbon)
	run(Follow{FollowerID: x.ID, TargetID: y.ID})
	run(Like{UserID: x.ID, PostID: p.ID})
	run(AddComment{AuthorID: x.ID, PostID: p.ID, Text: "hi"})
	run(SetSuspended{AdminID: boss.ID, UserID: x.ID, Suspended: true})
	if bad, err := s.Check(); err != nil || len(bad) > 0 {
		t.Fatalf("before: %v %v", bad, err)
	}
	want := dump(t, s)
	s.Close()

	// Age the file into schema 9.
	raw, err := bolt.Open(dir+"/"+FileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(btx *bolt.Tx) error {
		for _, b := range [][]byte{bTagPublic, bUserLikes, bUserComms, bGeoCells} {
			if err := btx.DeleteBucket(b); err != nil {
				return err
			}
		}
		if _, err := btx.CreateBucket(bGeoCells); err != nil {
			return err
		}
		tx := &Tx{tx: btx}
		if err := btx.Bucket(bPosts).ForEach(func(_, v []byte) error {
			p := new(Post)
			if err := decode(v, p); err != nil {
				return err
			}
			return tx.geoCount(p, 1) // every post, as schema 9 counted
		}); err != nil {
			return err
		}
		var places []*Place
		btx.Bucket(bPlaces).ForEach(func(_, v []byte) error {
			pl := new(Place)
			decode(v, pl)
			places = append(places, pl)
			return nil
		})
		for _, pl := range places {
			pl.Public, pl.SumLat, pl.SumLon = 0, 0, 0
			if err := tx.put(bPlaces, pl.ID.key(), pl); err != nil {
				return err
			}
		}
		post, _ := tx.post(p.ID)
		post.LikeCount, post.CommentCount = 1, 1
		if err := tx.put(bPosts, p.ID.key(), post); err != nil {
			return err
		}
		u, _ := tx.user(y.ID)
		u.Counts.Followers = 1
		if err := tx.put(bUsers, y.ID.key(), u); err != nil {
			return err
		}
		return btx.Bucket(bMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, 9))
	}); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Schema(); v != SchemaVersion() {
		t.Fatalf("schema %d", v)
	}
	if bad, err := s.Check(); err != nil || len(bad) > 0 {
		t.Fatalf("after the migration: %v %v", bad, err)
	}
	// A map cell's newest post is only a hint for its thumbnail: counted
	// afresh it is the newest public post, while a suspension leaves the
	// hidden one in place.
	if got, want := withoutNewest(dump(t, s)), withoutNewest(want); !bytes.Equal(got, want) {
		t.Fatalf("the migration wrote\n%s\nthis build writes\n%s", got, want)
	}
}

// withoutNewest blanks the newest post of the map cells in a dump.
func withoutNewest(d []byte) []byte {
	lines := bytes.Split(d, []byte("\n"))
	in := false
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("[")) {
			in = bytes.Equal(l, []byte("[geocells]"))
			continue
		}
		if eq := bytes.IndexByte(l, '='); in && eq > 0 && len(l) >= eq+1+24 {
			copy(l[eq+1+8:eq+1+24], bytes.Repeat([]byte{'-'}, 16))
			lines[i] = l
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

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
			s := openT(t, t.TempDir())
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
			if err := s.db.Update(func(btx *bolt.Tx) error {
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
