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
type objCache struct {
	mu  sync.RWMutex
	m   map[cacheKey]any
	max int
	gen atomic.Uint64
}

func newObjCache(max int) *objCache { return &objCache{m: make(map[cacheKey]any), max: max} }

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

func (c *objCache) load(k cacheKey) (any, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// store keeps v if no commit happened since generation gen.
func (c *objCache) store(k cacheKey, v any, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
}

// invalidate drops keys and starts a new generation.
func (c *objCache) invalidate(keys []cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
	c.gen.Add(1)
}

// snapshot returns the value v points to, for the cache (a copy of the
// struct; its slices and maps are shared and never written by readers).
func snapshot(v any) any {
	switch p := v.(type) {
	case *User:
		return *p
	case *Post:
		return *p
	case *Media:
		return *p
	}
	return nil
}

// copyInto sets *v from a cached value.
func copyInto(v, cached any) error {
	switch p := v.(type) {
	case *User:
		*p = cached.(User)
	case *Post:
		*p = cached.(Post)
	case *Media:
		*p = cached.(Media)
	}
	return nil
}
