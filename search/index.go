// Package search owns aperture's bleve index in DATA/search: people,
// posts (caption, hashtags, place, geo point) and places. The index is
// derived data — bbolt is the source of truth — kept current by outbox
// jobs and rebuilt from the store when missing or damaged. Visibility
// (private accounts, blocks) is always decided by the store at query time.
package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/prometheus/client_golang/prometheus"

	"aperture/store"
)

// Index is the search index.
type Index struct {
	st    Store
	dir   string
	log   *slog.Logger
	mu    sync.RWMutex
	idx   bleve.Index
	ready atomic.Bool
}

// Documents are maps (type, then fields): bleve reads geo points only
// from maps, not from struct fields.
//
//	user:  username (keyword), name, bio
//	post:  caption, tags (keyword), author (keyword), place, geo,
//	       created (ms), likes, public (bool)
//	place: name, name_kw (keyword, lower case), geo, posts
type doc = map[string]any

func indexMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.TypeField = "type"
	m.DefaultAnalyzer = standard.Name
	m.StoreDynamic = false
	kw := bleve.NewKeywordFieldMapping()
	kw.Analyzer = keyword.Name
	text := bleve.NewTextFieldMapping()
	text.Analyzer = standard.Name
	num := bleve.NewNumericFieldMapping()
	geoField := bleve.NewGeoPointFieldMapping()
	boolean := bleve.NewBooleanFieldMapping()
	// Results are IDs (the documents live in bbolt), every query names its
	// field, and none is a phrase or highlighted: nothing is stored, no
	// term vectors are kept, and there is no _all field. Indexing does
	// about half the work.
	for _, f := range []*mapping.FieldMapping{kw, text, num, geoField, boolean} {
		f.Store, f.IncludeTermVectors, f.IncludeInAll = false, false, false
	}

	user := bleve.NewDocumentMapping()
	user.AddFieldMappingsAt("username", kw)
	user.AddFieldMappingsAt("name", text)
	user.AddFieldMappingsAt("bio", text)
	m.AddDocumentMapping("user", user)

	post := bleve.NewDocumentMapping()
	post.AddFieldMappingsAt("caption", text)
	post.AddFieldMappingsAt("tags", kw)
	post.AddFieldMappingsAt("author", kw)
	post.AddFieldMappingsAt("place", text)
	post.AddFieldMappingsAt("geo", geoField)
	post.AddFieldMappingsAt("created", num)
	post.AddFieldMappingsAt("likes", num)
	post.AddFieldMappingsAt("public", boolean)
	m.AddDocumentMapping("post", post)

	place := bleve.NewDocumentMapping()
	place.AddFieldMappingsAt("name", text)
	place.AddFieldMappingsAt("name_kw", kw)
	place.AddFieldMappingsAt("geo", geoField)
	place.AddFieldMappingsAt("posts", num)
	m.AddDocumentMapping("place", place)
	return m
}

// Open opens the index in dir, or creates it. A missing or unreadable
// index is replaced by an empty one and rebuilt from the store in the
// background; Ready reports false until that is done.
func Open(dir string, st Store, log *slog.Logger) (*Index, error) {
	if log == nil {
		log = slog.Default()
	}
	x := &Index{st: st, dir: filepath.Join(dir, "index.bleve"), log: log}
	idx, err := bleve.Open(x.dir)
	if err == nil {
		x.idx = idx
		x.ready.Store(true)
		return x, nil
	}
	if !errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		log.Warn("search index unreadable; rebuilding", "error", err)
		if err := os.RemoveAll(x.dir); err != nil {
			return nil, err
		}
	}
	if x.idx, err = bleve.New(x.dir, indexMapping()); err != nil {
		return nil, fmt.Errorf("search: create index: %w", err)
	}
	go func() {
		start := time.Now()
		n, err := x.Rebuild(context.Background(), nil)
		if err != nil {
			log.Error("search rebuild", "error", err)
			return
		}
		x.ready.Store(true)
		log.Info("search index rebuilt", "docs", n, "seconds", time.Since(start).Seconds())
	}()
	return x, nil
}

// Create makes a new, empty index in dir (which must not hold one), for
// a rebuild in the foreground; see Rebuild.
func Create(dir string, st Store) (*Index, error) {
	x := &Index{st: st, dir: filepath.Join(dir, "index.bleve"), log: slog.Default()}
	idx, err := bleve.New(x.dir, indexMapping())
	if err != nil {
		return nil, fmt.Errorf("search: create index: %w", err)
	}
	x.idx = idx
	x.ready.Store(true)
	return x, nil
}

// Ready reports whether the index is complete (not rebuilding).
func (x *Index) Ready() bool { return x.ready.Load() }

// Close closes the index.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.idx.Close()
}

// DocCount returns how many documents the index holds.
func (x *Index) DocCount() (uint64, error) { return x.idx.DocCount() }

func userID(id store.ID) string  { return "u:" + id.String() }
func postID(id store.ID) string  { return "p:" + id.String() }
func placeID(id store.ID) string { return "l:" + id.String() }

func makeUserDoc(u *store.User) doc {
	return doc{"type": "user", "username": u.Username, "name": u.DisplayName, "bio": u.Bio}
}

func makePostDoc(p *store.Post, author *store.User) doc {
	d := doc{"type": "post", "caption": p.Caption, "tags": p.Tags, "author": author.Username,
		"created": float64(p.CreatedAt.UnixMilli()), "likes": float64(p.LikeCount), "public": !author.Private && !author.Suspended}
	if l := p.Location; l != nil {
		d["place"], d["geo"] = l.Name, point(l.Lat, l.Lon)
	}
	return d
}

func makePlaceDoc(pl *store.Place) doc {
	return doc{"type": "place", "name": pl.Name, "name_kw": lower(pl.Name), "geo": point(pl.Lat, pl.Lon), "posts": float64(pl.Posts)}
}

// point is a geo point as bleve reads it from a document: named fields,
// so there is no doubt which is the longitude (bleve's arrays are
// [lon, lat]).
func point(lat, lon float64) map[string]any { return map[string]any{"lat": lat, "lon": lon} }

// Rebuild indexes every user, post and place that search may find (not
// suspended accounts or their posts; only places with public posts) from
// the store in batches, reporting progress (documents done) to progress
// if not nil. Reading the store and indexing overlap: one goroutine
// decodes and builds batches while the caller's goroutine hands them to
// bleve. It returns the number of documents indexed.
func (x *Index) Rebuild(ctx context.Context, progress func(done int)) (int, error) {
	batches := make(chan *bleve.Batch, 2)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		b := x.idx.NewBatch()
		add := func(id string, d doc) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := b.Index(id, d); err != nil {
				return err
			}
			if b.Size() >= 2000 {
				batches <- b
				b = x.idx.NewBatch()
			}
			return nil
		}
		// Suspended accounts and their posts are not searchable.
		err := x.st.EachUser(func(u *store.User) error {
			if u.Suspended {
				return nil
			}
			return add(userID(u.ID), makeUserDoc(u))
		})
		if err == nil {
			err = x.st.EachPost(func(p *store.Post, a *store.User) error {
				if a.Suspended {
					return nil
				}
				return add(postID(p.ID), makePostDoc(p, a))
			})
		}
		if err == nil {
			err = x.st.EachPlace(func(pl *store.Place) error { return add(placeID(pl.ID), makePlaceDoc(pl)) })
		}
		if err == nil && b.Size() > 0 {
			batches <- b
		}
		readErr <- err
	}()
	n := 0
	var indexErr error
	for b := range batches {
		if indexErr != nil {
			continue // drain so the reader can finish
		}
		n += b.Size()
		if indexErr = x.idx.Batch(b); indexErr == nil && progress != nil {
			progress(n)
		}
	}
	if err := <-readErr; err != nil {
		return n, err
	}
	return n, indexErr
}

// Lag returns the age of the oldest change not yet in the index (0 when
// it is up to date), or the store's error.
func (x *Index) Lag() (time.Duration, error) {
	t, err := x.st.OldestJob(store.JobIndexPost, store.JobIndexUser)
	if err != nil || t.IsZero() {
		return 0, err
	}
	return max(0, time.Since(t)), nil
}

// Collectors returns the index's metrics: documents, and the lag (age of
// the oldest change not yet indexed).
func (x *Index) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_search_docs", Help: "Documents in the search index."},
			func() float64 { n, _ := x.idx.DocCount(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_search_lag_seconds", Help: "Age of the oldest change not yet in the search index."},
			func() float64 { d, _ := x.Lag(); return d.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_search_ready", Help: "1 when the index is complete, 0 while it is rebuilt."},
			func() float64 {
				if x.Ready() {
					return 1
				}
				return 0
			}),
	}
}
