package store

import (
	"bytes"
	"encoding/binary"
	"time"
)

// pair is the composite key owner(8) | item(8).
func pair(a, b ID) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(a))
	binary.BigEndian.PutUint64(k[8:], uint64(b))
	return k
}

func msValue(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixMilli())) }

func (t *Tx) has(bucket, key []byte) bool { return t.at(bucket, key).Get(key) != nil }

func (t *Tx) mark(bucket, key []byte, v []byte) error {
	if v == nil {
		v = []byte{}
	}
	return t.set(bucket, key, v)
}

func (t *Tx) unmark(bucket, key []byte) error {
	if k, ok := keyOf(bucket, key); ok {
		t.dirty = append(t.dirty, k)
	}
	return t.del(bucket, key)
}

// Page is a request for one page of a newest-first list.
type Page struct {
	Before ID // exclusive upper bound; 0 for the newest
	Limit  int
}

// norm clamps the limit to 1..100 (default 20).
func (p Page) norm() Page {
	if p.Limit <= 0 {
		p.Limit = 20
	}
	if p.Limit > 100 {
		p.Limit = 100
	}
	return p
}

// walkNewest calls fn with the item IDs under owner, newest (highest ID)
// first, starting below before (0 = from the newest), until fn returns
// false.
func (t *Tx) walkNewest(bucket []byte, owner ID, before ID, fn func(item ID) bool) {
	prefix := owner.key()
	c := t.at(bucket, prefix).Cursor()
	bound := pair(owner, before) // the first key not to return
	if before == 0 {
		bound = pair(owner+1, 0)
	}
	k, _ := c.Seek(bound)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if !fn(idFromKey(k[8:])) {
			return
		}
	}
}

// walkOldest calls fn with the item IDs under owner in ascending order,
// starting after after, until fn returns false.
func (t *Tx) walkOldest(bucket []byte, owner ID, after ID, fn func(item ID) bool) {
	prefix := owner.key()
	c := t.at(bucket, prefix).Cursor()
	for k, _ := c.Seek(pair(owner, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if !fn(idFromKey(k[8:])) {
			return
		}
	}
}

// pageIDs returns one page of item IDs under owner, newest first, and the
// cursor of the next page (0 when there is none).
func (t *Tx) pageIDs(bucket []byte, owner ID, p Page) (ids []ID, next ID) {
	p = p.norm()
	t.walkNewest(bucket, owner, p.Before, func(id ID) bool {
		if len(ids) == p.Limit {
			next = ids[len(ids)-1]
			return false
		}
		ids = append(ids, id)
		return true
	})
	return ids, next
}

func (t *Tx) counter(bucket, key []byte) uint32 {
	if v := t.at(bucket, key).Get(key); len(v) == 4 {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (t *Tx) addCounter(bucket, key []byte, d int) (uint32, error) {
	n := int64(t.counter(bucket, key)) + int64(d)
	if n <= 0 {
		return 0, t.del(bucket, key)
	}
	return uint32(n), t.set(bucket, key, binary.BigEndian.AppendUint32(nil, uint32(n)))
}
