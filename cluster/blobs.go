package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"aperture/media"
)

// Blobs keeps photo files in the cluster's object store (replicated like
// the logs) and caches them on this node's disk: a photo uploaded on one
// node is served by every node with the same URLs, whichever node is
// down. It is a media.Blobs.
type Blobs struct {
	Local media.FileBlobs
	obs   jetstream.ObjectStore
}

// Blobs returns the cluster's photo store, cached in local.
func (n *Node) Blobs(ctx context.Context, local media.FileBlobs) (*Blobs, error) {
	obs, err := open(ctx, n.log, objectsMedia, func(c context.Context) (jetstream.ObjectStore, error) { return n.js.ObjectStore(c, objectsMedia) })
	if err != nil {
		return nil, err
	}
	return &Blobs{Local: local, obs: obs}, nil
}

func objectName(hash, variant string) string { return hash + "/" + variant }

// variants are the files the pipeline writes for a photo (a cache that
// lost some still finds them all to delete).
var variants = []string{"thumb.jpg", "small.jpg", "medium.jpg", "large.jpg", "full.jpg", "source.jpg", "info.json"}

// Put stores a variant in the object store, then in the local cache.
func (b *Blobs) Put(hash, variant string, data []byte) error {
	if _, err := b.Local.Get(hash, variant); err == nil {
		return nil // content-addressed: stored already
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.obs.PutBytes(ctx, objectName(hash, variant), data); err != nil {
		return fmt.Errorf("media: store %s in the cluster: %w", variant, err)
	}
	return b.Local.Put(hash, variant, data)
}

// fetch brings a variant from the object store into the local cache.
func (b *Blobs) fetch(hash, variant string) error {
	f, missing := b.Local.Open(hash, variant)
	if missing == nil {
		f.Close()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data, err := b.obs.GetBytes(ctx, objectName(hash, variant))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return missing // media's own "no such photo file"
	}
	if err != nil {
		return fmt.Errorf("media: fetch %s from the cluster: %w", variant, err)
	}
	return b.Local.Put(hash, variant, data)
}

// Get returns a whole variant, from the cache or the object store.
func (b *Blobs) Get(hash, variant string) ([]byte, error) {
	if err := b.fetch(hash, variant); err != nil {
		return nil, err
	}
	return b.Local.Get(hash, variant)
}

// Open returns a variant for serving, from the cache (filled from the
// object store on a miss).
func (b *Blobs) Open(hash, variant string) (media.Blob, error) {
	if err := b.fetch(hash, variant); err != nil {
		return nil, err
	}
	return b.Local.Open(hash, variant)
}

// Delete removes every variant of hash, from the object store and the
// cache.
func (b *Blobs) Delete(hash string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names, _ := b.Local.Files(hash)
	names = append(names, variants...)
	for _, n := range names {
		if err := b.obs.Delete(ctx, objectName(hash, n)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return err
		}
	}
	return b.Local.Delete(hash)
}
