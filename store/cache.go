package store

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// objCache is the in-process cache in front of hot reads (the memcached of
// the original design): decoded users, posts and photos, shared by read
// transactions. Write transactions never read from it; they record the
// keys they write, and the committer drops those keys after the commit and
// before the writers are answered, so a request made after a write
// returns never sees the old value. A read transaction that began before
// a commit may have decoded an old value; it stores it only if no commit
// happened since it began (the generation check), so stale values cannot
// be stored after their invalidation.
//
// Reads take no lock (a feed page makes some sixty of them on two cores);
// mu orders stores against invalidations. Cached values are pointers that
// nobody writes through: readers either copy them (get) or promise not to
// write (shared).
type objCache struct {
	m   sync.Map // cacheKey → *User, *Post or *Media
	n   atomic.Int64
	mu  sync.Mutex
	max int64
	gen atomic.Uint64
}

func newObjCache(max int) *objCache { return &objCache{max: int64(max)} }

// cacheKey names a cached value: its bucket and its ID. It is a small
// value, so looking one up allocates nothing.
type cacheKey struct {
	bucket byte // 'u'sers, 'p'osts or 'm'edia
	id     uint64
}

// keyOf returns the cache key of bucket/key; ok is false for the buckets
// whose values are not cached.
func keyOf(bucket, key []byte) (k cacheKey, ok bool) {
	if len(key) != 8 {
		return k, false
	}
	switch string(bucket) {
	case "users":
		k.bucket = 'u'
	case "posts":
		k.bucket = 'p'
	case "media":
		k.bucket = 'm'
	default:
		return k, false
	}
	k.id = binary.BigEndian.Uint64(key)
	return k, true
}

func (c *objCache) load(k cacheKey) (any, bool) { return c.m.Load(k) }

// store keeps v if no commit happened since generation gen.
func (c *objCache) store(k cacheKey, v any, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if c.n.Load() >= c.max {
		c.m.Clear()
		c.n.Store(0)
	}
	if _, loaded := c.m.Swap(k, v); !loaded {
		c.n.Add(1)
	}
}

// invalidate drops keys and starts a new generation.
func (c *objCache) invalidate(keys []cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if _, loaded := c.m.LoadAndDelete(k); loaded {
			c.n.Add(-1)
		}
	}
	c.gen.Add(1)
}

// snapshot returns a copy of the value v points to, for the cache (its
// slices and maps are shared and never written by readers).
func snapshot(v any) any {
	switch p := v.(type) {
	case *User:
		c := *p
		return &c
	case *Post:
		c := *p
		return &c
	case *Media:
		c := *p
		return &c
	}
	return nil
}

// copyInto sets *v from a cached value.
func copyInto(v, cached any) error {
	switch p := v.(type) {
	case *User:
		*p = *cached.(*User)
	case *Post:
		*p = *cached.(*Post)
	case *Media:
		*p = *cached.(*Media)
	}
	return nil
}

// shared returns the value at bucket/id for a reader that will not write
// to it: in read transactions the cached value itself, with no copy;
// ErrNotFound (naming what) when it is absent.
func shared[T User | Post | Media](t *Tx, bucket []byte, id ID, what string) (*T, error) {
	key := id.key()
	k, ok := keyOf(bucket, key)
	if ok && t.cache != nil {
		if hit, ok := t.cache.load(k); ok {
			return hit.(*T), nil
		}
	}
	v := new(T)
	b := t.at(bucket, key).Get(key)
	if b == nil {
		return nil, Errorf(ErrNotFound, "%s was not found.", what)
	}
	if err := decode(b, v); err != nil {
		return nil, err
	}
	if ok && t.cache != nil {
		t.cache.store(k, v, t.gen)
	}
	return v, nil
}
