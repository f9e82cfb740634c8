package store

import (
	"bytes"
	"context"
	"encoding/binary"
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
