package store

import "testing"

// The object cache holds at most max values (it empties when full), an
// invalidation drops exactly its keys, and a value decoded before a commit
// is not stored after it.
func TestObjCacheBoundAndGenerations(t *testing.T) {
	c := newObjCache(3)
	key := func(id uint64) cacheKey { return cacheKey{bucket: 'p', id: id} }
	for id := range uint64(10) {
		c.store(key(id), &Post{ID: ID(id)}, c.gen.Load())
		if n := c.n.Load(); n < 1 || n > 3 {
			t.Fatalf("after storing %d values the cache counts %d (max 3)", id+1, n)
		}
	}
	if v, ok := c.load(key(9)); !ok || v.(*Post).ID != 9 {
		t.Fatalf("the newest value is not cached: %v %v", v, ok)
	}
	c.store(key(9), &Post{ID: 9, LikeCount: 1}, c.gen.Load()) // replacing counts once
	n := c.n.Load()
	c.invalidate([]cacheKey{key(9), key(1234)})
	if _, ok := c.load(key(9)); ok {
		t.Fatal("an invalidated key is still cached")
	}
	if c.n.Load() != n-1 {
		t.Fatalf("invalidating one cached key took the count from %d to %d", n, c.n.Load())
	}
	old := c.gen.Load()
	c.invalidate(nil) // a commit
	c.store(key(42), &Post{ID: 42}, old)
	if _, ok := c.load(key(42)); ok {
		t.Fatal("a value read before a commit was stored after it")
	}
}
