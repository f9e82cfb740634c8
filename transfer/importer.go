package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"aperture/media"
	"aperture/store"
)

// Importer brings archives into accounts. Each JobImport job is one step:
// up to Step posts, each photo through the media pipeline, then an
// ImportStep command that records the progress and queues the next step.
// A step that is cut short (a restart, a crash) runs again: posts already
// imported are skipped by their keys before any photo is decoded. At most
// Concurrent steps run at once on the instance, so imports take a share
// of the workers and never all of them.
type Importer struct {
	Store *store.Store
	Media *media.Processor
	// Dir holds the archives that imports read (the data directory's
	// imports folder); a run names its file relative to it.
	Dir        string
	QuotaMB    int
	Step       int // posts per step (10)
	Concurrent int // steps at once on the instance (1)
	// PlaceName names a point that an archive gives without a name (an
	// Instagram photo's EXIF position); nil names it by its coordinates.
	PlaceName func(lat, lon float64) string

	once  sync.Once
	slots chan struct{}
	mu    sync.Mutex
	open  *opened // the archive the last step read, kept for the next
}

type opened struct {
	file    string
	archive *Archive
	account *Account
	err     error
}

// busy defers a step while other imports hold every slot; the outbox runs
// it again after the pause, without counting a failed attempt.
type busy struct{}

func (busy) Error() string             { return "other imports are running; this one waits its turn" }
func (busy) RetryAfter() time.Duration { return 2 * time.Second }

// Handle runs one JobImport job: the next step of its run.
func (im *Importer) Handle(ctx context.Context, j *store.Job) error {
	var job store.ImportJob
	if err := json.Unmarshal(j.Payload, &job); err != nil {
		return fmt.Errorf("import job %s: %w", j.ID, err)
	}
	im.once.Do(func() { im.slots = make(chan struct{}, max(im.Concurrent, 1)) })
	select {
	case im.slots <- struct{}{}:
		defer func() { <-im.slots }()
	default:
		return busy{}
	}
	run, err := im.Store.ImportRun(job.User, job.Run)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the account is gone, and its runs with it
	}
	if err != nil || run.Finished() {
		return err
	}
	step, err := im.step(ctx, run)
	if err != nil {
		return err
	}
	if run, err = store.Exec(ctx, im.Store, step); err == nil {
		im.finished(run)
	}
	return err
}

// finished removes a run's archive once the run has ended: what it held
// is in the database now, or was refused.
func (im *Importer) finished(run *store.ImportRun) {
	if run.Finished() && run.File == filepath.Base(run.File) {
		im.forget(run.File)
		os.Remove(filepath.Join(im.Dir, run.File))
	}
}

// Run runs an import to its end in this process (the command line's
// import), calling progress after each step.
func (im *Importer) Run(ctx context.Context, run *store.ImportRun, progress func(*store.ImportRun)) (*store.ImportRun, error) {
	for !run.Finished() {
		step, err := im.step(ctx, run)
		if err != nil {
			return run, err
		}
		if run, err = store.Exec(ctx, im.Store, step); err != nil {
			return run, err
		}
		im.finished(run)
		if progress != nil {
			progress(run)
		}
	}
	return run, nil
}

// step imports the run's next posts and returns the command that records
// them. An archive that cannot be read ends the run with its reason; an
// error (a busy media pipeline, a store failure) retries the step.
func (im *Importer) step(ctx context.Context, run *store.ImportRun) (store.ImportStep, error) {
	out := store.ImportStep{Meta: store.At(time.Now()), UserID: run.UserID, RunID: run.ID, Next: run.Next,
		Posts: run.Posts, Photos: run.Photos, Skipped: map[string]int{}}
	for k, v := range run.Skipped {
		out.Skipped[k] = v
	}
	if u, err := im.Store.User(run.UserID); errors.Is(err, store.ErrNotFound) || (err == nil && (u.Deleted || u.Suspended)) {
		out.Error = "The account is closed or suspended."
		return out, nil
	}
	a, acc, err := im.archive(run.File)
	switch {
	case errors.Is(err, ErrArchive):
		out.Error = sentence(err)
		return out, nil
	case errors.Is(err, fs.ErrNotExist):
		out.Error = "The archive is no longer on the server; upload it again."
		return out, nil
	case err != nil:
		return out, err
	}
	out.Total = len(acc.Posts)
	if acc.Source != run.Source {
		out.Error = fmt.Sprintf("This archive is an %s archive, not %s.", acc.Source, run.Source)
		return out, nil
	}
	if run.Next == 0 {
		if out.Suggested, err = im.profile(ctx, run.UserID, a, acc); err != nil {
			return out, err
		}
	}
	n := max(im.Step, 1)
	for ; out.Next < len(acc.Posts) && n > 0; out.Next, n = out.Next+1, n-1 {
		if err := im.post(ctx, run.UserID, run.Source, a, acc.Posts[out.Next], &out); err != nil {
			if errors.Is(err, store.ErrTooLarge) {
				out.Error = fmt.Sprintf("%s %d of %d posts were imported.", sentence(err), out.Posts, len(acc.Posts))
				return out, nil
			}
			return out, err
		}
	}
	out.Done = out.Next >= len(acc.Posts)
	return out, nil
}

// archive opens and parses the run's file, or returns the one the last
// step opened.
func (im *Importer) archive(file string) (*Archive, *Account, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.open != nil && im.open.file == file {
		return im.open.archive, im.open.account, im.open.err
	}
	if im.open != nil && im.open.archive != nil {
		im.open.archive.Close()
	}
	o := &opened{file: file}
	if file != filepath.Base(file) || strings.HasPrefix(file, ".") {
		o.err = refuse("The import names no archive of its own.")
	} else if o.archive, o.err = Open(filepath.Join(im.Dir, file)); o.err == nil {
		o.account, o.err = Parse(o.archive)
	}
	im.open = o
	return o.archive, o.account, o.err
}

func (im *Importer) forget(file string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.open != nil && im.open.file == file {
		if im.open.archive != nil {
			im.open.archive.Close()
		}
		im.open = nil
	}
}

// profile gives the account the archive's bio, name, website and picture
// where it has none of its own, and returns the usernames it followed
// that have accounts here.
func (im *Importer) profile(ctx context.Context, user store.ID, a *Archive, acc *Account) ([]string, error) {
	u, err := im.Store.User(user)
	if err != nil {
		return nil, err
	}
	up := store.UpdateProfile{Meta: store.At(time.Now()), UserID: user}
	set := func(mine string, theirs string, limit int, field **string) {
		if mine == "" && theirs != "" {
			v := cut(theirs, limit)
			*field = &v
		}
	}
	set(u.DisplayName, acc.Name, store.MaxDisplayName, &up.DisplayName)
	set(u.Bio, acc.Bio, store.MaxBio, &up.Bio)
	if strings.HasPrefix(acc.Website, "https://") || strings.HasPrefix(acc.Website, "http://") {
		set(u.Website, acc.Website, store.MaxWebsite, &up.Website)
	}
	if u.AvatarMediaID == 0 && acc.Picture != "" {
		if m, err := im.photo(ctx, user, a, acc.Picture, media.Edit{Aspect: 1}, ""); err == nil {
			up.AvatarMediaID = &m.ID
		} else if !skippable(err) {
			return nil, err
		}
	}
	if _, err := store.Exec(ctx, im.Store, up); err != nil && !errors.Is(err, store.ErrInvalid) {
		return nil, err
	}
	var here []string
	for _, name := range acc.Following {
		if f, err := im.Store.UserByUsername(name); err == nil && f.ID != user && !f.Suspended && len(here) < 100 {
			here = append(here, f.Username)
		}
	}
	return here, nil
}

// post imports one post, counting what it leaves out.
func (im *Importer) post(ctx context.Context, user store.ID, source string, a *Archive, p Post, out *store.ImportStep) error {
	key := p.Key
	if len(key) > store.MaxImportKey {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	post, by, done, err := im.Store.Imported(user, source, key)
	switch {
	case err != nil:
		return err
	case done && by == out.RunID:
		// Made by this run, in a step that was cut short: counted now.
		if p, err := im.Store.ViewPost(user, post); err == nil {
			out.Posts++
			out.Photos += len(p.MediaIDs)
		}
		return nil
	case done:
		out.Skipped[SkipAgain]++
		return nil
	}
	out.Skipped[SkipVideo] += p.Videos
	photos := p.Photos
	if len(photos) > store.MaxMedia {
		out.Skipped[SkipCarousel] += len(photos) - store.MaxMedia
		photos = photos[:store.MaxMedia]
	}
	var ids []store.ID
	for _, ph := range photos {
		m, err := im.photo(ctx, user, a, ph.Path, media.Edit{}, ph.Alt)
		switch {
		case err == nil:
			ids = append(ids, m.ID)
		case errors.Is(err, store.ErrNotFound):
			out.Skipped[SkipMissing]++
		case skippable(err):
			out.Skipped[SkipRefused]++
		default:
			return err
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var loc *store.Location
	if l := p.Location; l != nil && validPoint(l.Lat, l.Lon) {
		name := strings.TrimSpace(l.Name)
		if name == "" && im.PlaceName != nil {
			name = im.PlaceName(l.Lat, l.Lon)
		}
		if name == "" {
			name = pointName(l.Lat, l.Lon)
		}
		loc = &store.Location{Name: cut(name, 100), Lat: l.Lat, Lon: l.Lon}
	}
	made, err := store.Exec(ctx, im.Store, store.ImportPost{Meta: store.At(time.Now()), AuthorID: user, RunID: out.RunID, Source: source, Key: key,
		TakenAt: p.TakenAt, Caption: cut(p.Caption, store.MaxCaption), MediaIDs: ids, Location: loc})
	if errors.Is(err, store.ErrInvalid) {
		// A caption over the limits (more hashtags than allowed): the
		// photos, without it.
		made, err = store.Exec(ctx, im.Store, store.ImportPost{Meta: store.At(time.Now()), AuthorID: user, RunID: out.RunID, Source: source, Key: key,
			TakenAt: p.TakenAt, MediaIDs: ids, Location: loc})
		out.Skipped[SkipCaption]++
	}
	if err != nil {
		return err
	}
	if made != nil {
		out.Posts++
		out.Photos += len(ids)
	}
	return nil
}

// What an import leaves out, as its summary names it.
const (
	SkipAgain    = "posts imported before"
	SkipVideo    = "videos (aperture does not have video yet)"
	SkipCarousel = "photos past the tenth of a carousel"
	SkipMissing  = "photos missing from the archive"
	SkipRefused  = "photos that could not be read"
	SkipCaption  = "captions over aperture's limits (the photos were kept)"
)

// photo runs one of the archive's photos through the media pipeline and
// records it for user.
func (im *Importer) photo(ctx context.Context, user store.ID, a *Archive, name string, e media.Edit, alt string) (*store.Media, error) {
	data, err := a.Read(name, MaxPhoto)
	if err != nil {
		return nil, err
	}
	var m *store.Media
	_, err = im.Media.Process(ctx, data, e, func(r *media.Result) error {
		variants := make(map[string]store.MediaVariant, len(r.Variants))
		for k, v := range r.Variants {
			variants[k] = store.MediaVariant{Width: v.Width, Height: v.Height, Bytes: int64(v.Bytes)}
		}
		var err error
		m, err = store.Exec(ctx, im.Store, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: user, Hash: r.Hash,
			Width: r.Width, Height: r.Height, Blurhash: r.Blurhash, Alt: cut(alt, store.MaxAlt), Filter: r.Filter, Variants: variants,
			Quota: int64(im.QuotaMB) << 20})
		return err
	})
	return m, err
}

// skippable reports whether a photo's error is the photo's own (left out
// and counted) rather than the instance's (the step is retried).
func skippable(err error) bool {
	return errors.Is(err, media.ErrUnsupported) || errors.Is(err, media.ErrInvalid) || errors.Is(err, media.ErrTooLarge) ||
		(errors.Is(err, ErrArchive) && !errors.Is(err, store.ErrNotFound))
}

// sentence returns the sentence of an error that may be shown.
func sentence(err error) string {
	if msg, ok := store.Safe(err); ok {
		return msg
	}
	return "The archive could not be read."
}

func cut(s string, runes int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= runes {
		return s
	}
	return string([]rune(s)[:runes])
}

// pointName names a point by its coordinates: "38.7139° N, 9.1334° W".
func pointName(lat, lon float64) string {
	ns, ew := "N", "E"
	if lat < 0 {
		ns = "S"
	}
	if lon < 0 {
		ew = "W"
	}
	return fmt.Sprintf("%.4f° %s, %.4f° %s", math.Abs(lat), ns, math.Abs(lon), ew)
}
