package transfer

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
)

// TestExportThenImport: an account exported from one instance and imported
// into another arrives with the same posts, captions, dates, places and
// photos (compared decoded), and the export holds the comments, likes and
// connections with their addresses, and a page to read offline.
func TestExportThenImport(t *testing.T) {
	ctx := context.Background()
	from := newImportEnv(t)
	ana, _ := store.Exec(ctx, from.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "h"})
	ben, _ := store.Exec(ctx, from.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ben", PasswordHash: "h"})
	if run := from.run(t, ana.ID, store.SourceInstagram, instagramArchive(t, "", "")); run.Posts != 2 {
		t.Fatalf("the import to export: %+v", run)
	}
	posts, _ := from.st.RecentPostIDs(ana.ID, 10)
	store.Exec(ctx, from.st, store.Follow{Meta: store.At(time.Now()), FollowerID: ben.ID, TargetID: ana.ID})
	store.Exec(ctx, from.st, store.Follow{Meta: store.At(time.Now()), FollowerID: ana.ID, TargetID: ben.ID})
	store.Exec(ctx, from.st, store.Like{Meta: store.At(time.Now()), UserID: ana.ID, PostID: posts[0]})
	store.Exec(ctx, from.st, store.AddComment{Meta: store.At(time.Now()), AuthorID: ana.ID, PostID: posts[0], Text: "Saudades ☕"})
	settleGraph(t, from.st, ana.ID, ben.ID)

	ex := &Exporter{Store: from.st, Media: from.im.Media, Dir: filepath.Join(t.TempDir(), "exports"), Instance: "https://one.example"}
	name, size, err := ex.WriteFile(ctx, ana.ID)
	if err != nil || size == 0 {
		t.Fatalf("export: %v", err)
	}
	file := filepath.Join(ex.Dir, name)
	a, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	var e Export
	if err := decodeJSON(a, apertureIndex, &e); err != nil {
		t.Fatal(err)
	}
	page, _ := a.Read("index.html", MaxJSON)
	a.Close()
	if len(e.Comments) != 1 || e.Comments[0].Text != "Saudades ☕" || !strings.HasPrefix(e.Comments[0].Post, "https://one.example/p/") ||
		len(e.Likes) != 1 || len(e.Followers) != 1 || e.Followers[0].Address != "https://one.example/u/ben" || len(e.Following) != 1 {
		t.Fatalf("the export's activity: %+v %+v %+v %+v", e.Comments, e.Likes, e.Followers, e.Following)
	}
	if e.Account.Picture == "" || len(e.Account.Posts) != 2 || e.Account.Posts[1].Tags[0] != "lisboa" {
		t.Fatalf("the export's account: %+v", e.Account)
	}
	if !bytes.Contains(page, []byte("Café com os amigos ☕ #lisboa")) || !bytes.Contains(page, []byte(`src="photos/`)) {
		t.Fatalf("index.html does not show the posts:\n%.600s", page)
	}

	to := newImportEnv(t)
	ana2, _ := store.Exec(ctx, to.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "h"})
	store.Exec(ctx, to.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ben", PasswordHash: "h"})
	run := to.run(t, ana2.ID, store.SourceAperture, file)
	if run.State != store.ImportDone || run.Posts != 2 || run.Photos != 3 || strings.Join(run.Suggested, ",") != "ben" {
		t.Fatalf("the import of the export: %+v", run)
	}
	moved, _ := to.st.RecentPostIDs(ana2.ID, 10)
	for i := range posts {
		was, _ := from.st.ViewPost(0, posts[i])
		is, _ := to.st.ViewPost(0, moved[i])
		if is.Caption != was.Caption || !is.CreatedAt.Equal(was.CreatedAt) || len(is.MediaIDs) != len(was.MediaIDs) ||
			(was.Location == nil) != (is.Location == nil) || (was.Location != nil && *is.Location != *was.Location) {
			t.Fatalf("post %d moved as %+v, was %+v", i, is, was)
		}
		for j := range was.MediaIDs {
			if d := pixelDistance(t, from, was.MediaIDs[j], to, is.MediaIDs[j]); d > 6 {
				t.Errorf("post %d photo %d differs by %.1f levels on average", i, j, d)
			}
		}
	}
	if again := to.run(t, ana2.ID, store.SourceAperture, file); again.Posts != 0 || again.Skipped[SkipAgain] != 2 {
		t.Fatalf("importing the export twice: %+v", again)
	}
	os.Remove(file)
}

// pixelDistance returns the mean difference, in levels of 255, between
// two photos' full copies (decoded; re-encoding changes the bytes).
func pixelDistance(t *testing.T, a *importEnv, am store.ID, b *importEnv, bm store.ID) float64 {
	decode := func(e *importEnv, id store.ID) image.Image {
		m, err := e.st.Media(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.im.Media.Full(context.Background(), m.Hash); err != nil {
			t.Fatal(err)
		}
		raw, err := e.im.Media.Blobs().Get(m.Hash, "full.jpg")
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	x, y := decode(a, am), decode(b, bm)
	if x.Bounds() != y.Bounds() {
		t.Fatalf("sizes %v and %v", x.Bounds(), y.Bounds())
	}
	var sum, n float64
	for py := x.Bounds().Min.Y; py < x.Bounds().Max.Y; py++ {
		for px := x.Bounds().Min.X; px < x.Bounds().Max.X; px++ {
			r1, g1, b1, _ := x.At(px, py).RGBA()
			r2, g2, b2, _ := y.At(px, py).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
}

// settleGraph runs the background jobs until a and b each count the other
// as a follower: with several partitions a follow reaches the followed
// account's side through the outbox.
func settleGraph(t *testing.T, st *store.Store, a, b store.ID) {
	t.Helper()
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond}, nil)
	pool.Start()
	defer pool.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ua, _ := st.User(a)
		ub, _ := st.User(b)
		if ua != nil && ub != nil && ua.Counts.Followers == 1 && ub.Counts.Followers == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the follows did not reach both sides in 10 s")
		}
	}
}
