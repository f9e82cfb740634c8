package transfer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aperture/media"
	"aperture/store"
	"aperture/store/storetest"
)

type importEnv struct {
	st  *store.Store
	im  *Importer
	dir string
}

func newImportEnv(t *testing.T) *importEnv {
	dir := t.TempDir()
	st, err := storetest.Open(filepath.Join(dir, "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	imports := filepath.Join(dir, "imports")
	os.MkdirAll(imports, 0o755)
	return &importEnv{st: st, dir: imports,
		im: &Importer{Store: st, Media: media.New(media.Config{}, media.FileBlobs{Dir: filepath.Join(dir, "media")}), Dir: imports, Step: 2}}
}

// start copies an archive into the imports folder and starts its import.
func (e *importEnv) start(t *testing.T, user store.ID, source, archive string) *store.ImportRun {
	t.Helper()
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(t.TempDir()) + ".zip"
	os.WriteFile(filepath.Join(e.dir, name), b, 0o600)
	run, err := store.Exec(context.Background(), e.st, store.StartImport{Meta: store.At(time.Now()), UserID: user, Source: source, File: name})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// run imports an archive to its end.
func (e *importEnv) run(t *testing.T, user store.ID, source, archive string) *store.ImportRun {
	t.Helper()
	run := e.start(t, user, source, archive)
	steps := 0
	var err error
	run, err = e.im.Run(context.Background(), run, func(*store.ImportRun) { steps++ })
	if err != nil {
		t.Fatal(err)
	}
	if want := max(1, (run.Total+e.im.Step-1)/e.im.Step); run.State == store.ImportDone && steps != want {
		t.Fatalf("an import of %d posts took %d steps of %d, want %d", run.Total, steps, e.im.Step, want)
	}
	return run
}

// TestImportInstagram: a download's posts arrive with their photos, times,
// captions and places, in the past of the account; its profile fills what
// the account lacks; whom it followed here is suggested; importing it
// again makes nothing twice.
func TestImportInstagram(t *testing.T) {
	e := newImportEnv(t)
	ctx := context.Background()
	ana, _ := store.Exec(ctx, e.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "h"})
	store.Exec(ctx, e.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ben", PasswordHash: "h"})
	archive := instagramArchive(t, "your_instagram_activity/", "")

	run := e.run(t, ana.ID, store.SourceInstagram, archive)
	if run.State != store.ImportDone || run.Total != 3 || run.Posts != 2 || run.Photos != 3 || run.Skipped[SkipVideo] != 2 {
		t.Fatalf("the run: %+v", run)
	}
	if strings.Join(run.Suggested, ",") != "ben" {
		t.Fatalf("suggested %q (cara has no account here)", run.Suggested)
	}
	ids, _ := e.st.RecentPostIDs(ana.ID, 10)
	if len(ids) != 2 {
		t.Fatalf("%d posts", len(ids))
	}
	carousel, _ := e.st.ViewPost(0, ids[0])
	first, _ := e.st.ViewPost(0, ids[1])
	if carousel.Caption != "Café com os amigos ☕ #lisboa" || len(carousel.MediaIDs) != 2 || !carousel.CreatedAt.Equal(time.Unix(1433160000, 0)) ||
		carousel.Location == nil || carousel.Location.Name != "38.7139° N, 9.1334° W" || len(carousel.Tags) != 1 {
		t.Fatalf("the carousel: %+v", carousel)
	}
	if first.Caption != "First one" || !first.CreatedAt.Equal(time.Unix(1325419200, 0)) || first.Location != nil {
		t.Fatalf("the oldest post: %+v", first)
	}
	heic, err := e.st.Media(carousel.MediaIDs[1])
	if err != nil || heic.Width == 0 {
		t.Fatalf("the HEIC photo: %+v %v", heic, err)
	}
	u, _ := e.st.User(ana.ID)
	if u.Bio != "Fotógrafa 📷" || u.DisplayName != "Ana" || u.AvatarMediaID == 0 || u.Counts.Posts != 2 {
		t.Fatalf("the profile: %+v", u)
	}

	// Again: every post is known, nothing is made, the profile stays.
	again := e.run(t, ana.ID, store.SourceInstagram, archive)
	if again.State != store.ImportDone || again.Posts != 0 || again.Skipped[SkipAgain] != 2 {
		t.Fatalf("the second run: %+v", again)
	}
	if u, _ := e.st.User(ana.ID); u.Counts.Posts != 2 {
		t.Fatalf("after a second import ana has %d posts", u.Counts.Posts)
	}

	// A damaged archive ends its run with the reason; nothing is made.
	bomb := writeZip(t, file{"content/posts_1.json", []byte("[]")}, file{"media/posts/200001/bomb.jpg", make([]byte, 20<<20)})
	failed := e.run(t, ana.ID, store.SourceInstagram, bomb)
	if failed.State != store.ImportFailed || !strings.Contains(failed.Error, "ZIP bomb") {
		t.Fatalf("a ZIP bomb's run: %+v", failed)
	}
	if u, _ := e.st.User(ana.ID); u.Counts.Posts != 2 {
		t.Fatalf("after a refused import ana has %d posts", u.Counts.Posts)
	}
}

// TestImportSkipsWhatItCannotRead: a photo the pipeline refuses and one
// missing from the archive are counted; the rest of the post is kept.
func TestImportSkipsWhatItCannotRead(t *testing.T) {
	e := newImportEnv(t)
	ana, _ := store.Exec(context.Background(), e.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "h"})
	posts := []any{map[string]any{"title": "three, one good", "creation_timestamp": 1500000000, "media": []any{
		map[string]any{"uri": "media/posts/201707/good.jpg"}, map[string]any{"uri": "media/posts/201707/bad.jpg"}, map[string]any{"uri": "media/posts/201707/gone.jpg"}}}}
	archive := writeZip(t, file{"content/posts_1.json", js(t, posts)}, file{"media/posts/201707/good.jpg", media.Synthetic(40, 30, 9)},
		file{"media/posts/201707/bad.jpg", []byte("\xff\xd8 this is not a photo")})
	run := e.run(t, ana.ID, store.SourceInstagram, archive)
	if run.State != store.ImportDone || run.Posts != 1 || run.Photos != 1 || run.Skipped[SkipRefused] != 1 || run.Skipped[SkipMissing] != 1 {
		t.Fatalf("the run: %+v", run)
	}
}

// TestImportStepCutShort: a step whose progress was never recorded (the
// process died first) runs again; the posts it made count once, as made.
func TestImportStepCutShort(t *testing.T) {
	e := newImportEnv(t)
	ctx := context.Background()
	ana, _ := store.Exec(ctx, e.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "h"})
	run := e.start(t, ana.ID, store.SourceInstagram, instagramArchive(t, "", ""))
	if _, err := e.im.step(ctx, run); err != nil { // made two posts, recorded nothing
		t.Fatal(err)
	}
	run, err := e.im.Run(ctx, run, nil)
	if err != nil || run.State != store.ImportDone || run.Posts != 2 || run.Photos != 3 || run.Skipped[SkipAgain] != 0 {
		t.Fatalf("after a step cut short: %+v %v", run, err)
	}
	if u, _ := e.st.User(ana.ID); u.Counts.Posts != 2 {
		t.Fatalf("ana has %d posts", u.Counts.Posts)
	}
	if _, err := os.Stat(filepath.Join(e.dir, run.File)); !os.IsNotExist(err) {
		t.Fatalf("the finished import's archive is still there: %v", err)
	}
}

// TestImportEndsWithoutItsArchiveOrAccount: a run whose archive is gone,
// or whose account was closed, ends with the reason instead of retrying.
func TestImportEndsWithoutItsArchiveOrAccount(t *testing.T) {
	e := newImportEnv(t)
	ctx := context.Background()
	ana, _ := store.Exec(ctx, e.st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "h"})
	run := e.start(t, ana.ID, store.SourceInstagram, instagramArchive(t, "", ""))
	os.Remove(filepath.Join(e.dir, run.File))
	if run, err := e.im.Run(ctx, run, nil); err != nil || run.State != store.ImportFailed || !strings.Contains(run.Error, "no longer on the server") {
		t.Fatalf("without its archive: %+v %v", run, err)
	}
	run = e.start(t, ana.ID, store.SourceInstagram, instagramArchive(t, "", ""))
	if _, err := store.Exec(ctx, e.st, store.DeleteAccount{Meta: store.At(time.Now()), ActorID: ana.ID, UserID: ana.ID}); err != nil {
		t.Fatal(err)
	}
	if run, err := e.im.Run(ctx, run, nil); err != nil || run.State != store.ImportFailed || !strings.Contains(run.Error, "closed") {
		t.Fatalf("after the account was closed: %+v %v", run, err)
	}
}
