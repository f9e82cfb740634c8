package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The store's side of cluster mode, with the network taken out: three
// stores in one process share, per partition, one log with
// expected-last-sequence appends (what a JetStream stream gives), a
// router that forwards each command to the store that owns its partition,
// and a key-value store for the global facts. Each store replays the logs
// of the partitions it does not own.

// sharedLog is every partition's log, as a stream would keep it.
type sharedLog struct {
	mu      sync.Mutex
	entries map[int][][]byte
}

// appender is one node's LogSink: it appends only at the next sequence
// number, as an ExpectLastSequence publish does.
type appender struct{ log *sharedLog }

func (a appender) Append(part int, seq uint64, entry []byte) error {
	a.log.mu.Lock()
	defer a.log.mu.Unlock()
	if uint64(len(a.log.entries[part]))+1 != seq {
		return fmt.Errorf("%w (entry %d, the log is at %d)", ErrNotOwner, seq, len(a.log.entries[part]))
	}
	a.log.entries[part] = append(a.log.entries[part], bytes.Clone(entry))
	return nil
}

func (l *sharedLog) from(part int, after uint64) [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entries[part][min(int(after), len(l.entries[part])):]
}

// memKV is the global facts in memory, shared by the nodes.
type memKV struct {
	mu   sync.Mutex
	rev  uint64
	vals map[string][]byte
	revs map[string]uint64
}

func (k *memKV) Get(key string) ([]byte, uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.vals[key]
	if !ok {
		return nil, 0, Errorf(ErrNotFound, "%s was not found.", key)
	}
	return bytes.Clone(v), k.revs[key], nil
}

func (k *memKV) put(key string, v []byte) uint64 {
	k.rev++
	k.vals[key], k.revs[key] = bytes.Clone(v), k.rev
	return k.rev
}

func (k *memKV) Create(key string, v []byte) (uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.vals[key]; ok {
		return 0, Errorf(ErrConflict, "%s exists.", key)
	}
	return k.put(key, v), nil
}

func (k *memKV) Update(key string, v []byte, rev uint64) (uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.vals[key]; !ok {
		return 0, Errorf(ErrNotFound, "%s was not found.", key)
	}
	if k.revs[key] != rev {
		return 0, Errorf(ErrConflict, "%s changed.", key)
	}
	return k.put(key, v), nil
}

func (k *memKV) Delete(key string, rev uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.vals[key]; !ok {
		return Errorf(ErrNotFound, "%s was not found.", key)
	}
	if rev != 0 && k.revs[key] != rev {
		return Errorf(ErrConflict, "%s changed.", key)
	}
	delete(k.vals, key)
	delete(k.revs, key)
	return nil
}

func (k *memKV) Keys(prefix string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for key := range k.vals {
		if strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
	}
	return out, nil
}

func (k *memKV) Close() error { return nil }

// localCluster is the three nodes.
type localCluster struct {
	nodes []*Store
	log   *sharedLog
	stop  chan struct{}
	wg    sync.WaitGroup
}

// router of node i: it owns the partitions whose number is i modulo the
// nodes, and forwards the rest to their owners directly.
type router struct {
	c    *localCluster
	self int
}

func (r router) owner(part int) int { return part % len(r.c.nodes) }

func (r router) Owns(part int) bool { return r.owner(part) == r.self }

func (r router) Forward(ctx context.Context, part int, e Entry) ([]byte, uint64, error) {
	data, seq, err := r.c.nodes[r.owner(part)].ExecEntry(ctx, e)
	if err != nil {
		// The error crosses the wire as kind, field and sentence.
		kind, field, msg := WireError(err)
		return nil, 0, ErrorFromWire(kind, field, msg)
	}
	return data, seq, nil
}

// Sync waits for this node's replica to reach the shared log's end.
func (r router) Sync(ctx context.Context, part int) error {
	r.c.log.mu.Lock()
	last := uint64(len(r.c.log.entries[part]))
	r.c.log.mu.Unlock()
	return r.c.nodes[r.self].WaitApplied(ctx, part, last)
}

// Await waits for this node's replica to apply entry seq.
func (r router) Await(ctx context.Context, part int, seq uint64) error {
	return r.c.nodes[r.self].WaitApplied(ctx, part, seq)
}

func newLocalCluster(t *testing.T, parts int) *localCluster {
	t.Helper()
	c := &localCluster{log: &sharedLog{entries: map[int][][]byte{}}, stop: make(chan struct{})}
	kv := &memKV{vals: map[string][]byte{}, revs: map[string]uint64{}}
	c.nodes = make([]*Store, 3)
	for i := range c.nodes {
		s, err := Open(t.TempDir(), Options{Partitions: parts, NoSync: true, Log: appender{c.log}, Router: router{c, i}, KV: kv})
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[i] = s
	}
	// Each node replays the partitions it does not own.
	for i, s := range c.nodes {
		for part := range parts {
			if (router{c, i}).Owns(part) {
				continue
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				for {
					applied, _ := s.LastApplied(part)
					for _, e := range c.log.from(part, applied) {
						if err := s.Replay(part, e); err != nil {
							t.Error(err)
							return
						}
					}
					select {
					case <-c.stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
		}
	}
	t.Cleanup(func() {
		close(c.stop)
		c.wg.Wait()
		for _, s := range c.nodes {
			s.Close()
		}
	})
	return c
}

// settle runs the graph's relay jobs until none is left, on whichever
// node (each job is sent to its owner).
func (c *localCluster) settle(t *testing.T) {
	t.Helper()
	for _, s := range c.nodes {
		Settle(t, s)
	}
}

// Commands sent to any node run on their partition's owner, a write is
// readable at once on the node that sent it, every replica of every
// partition ends byte for byte the same, and errors keep their kind.
func TestCommandsRouteToTheirOwners(t *testing.T) {
	c := newLocalCluster(t, 4)
	ctx := context.Background()
	var users []*User
	for i := range 12 {
		u, err := Exec(ctx, c.nodes[i%3], CreateUser{Meta: At(time.Now()), Username: fmt.Sprintf("user%d", i), PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		// Readable at once on the node that sent it, owner or not.
		if got, err := c.nodes[i%3].User(u.ID); err != nil || got.Username != u.Username {
			t.Fatalf("node %d reads %v (%v) right after writing", i%3, got, err)
		}
		users = append(users, u)
	}
	if _, err := Exec(ctx, c.nodes[1], CreateUser{Meta: At(time.Now()), Username: "USER3", PasswordHash: "h"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a taken name through another node: %v", err)
	}
	for i, u := range users {
		for j, v := range users {
			if i != j && (i+j)%3 == 0 {
				if _, err := Exec(ctx, c.nodes[j%3], Follow{Meta: At(time.Now()), FollowerID: u.ID, TargetID: v.ID}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := Exec(ctx, c.nodes[2], Follow{Meta: At(time.Now()), FollowerID: users[0].ID, TargetID: users[0].ID}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("following oneself through a forwarded command: %v", err)
	}
	c.settle(t)
	// Every node answers the same.
	for i, s := range c.nodes {
		if bad, err := s.Check(); err != nil || len(bad) > 0 {
			t.Fatalf("node %d: %v %v", i, bad, err)
		}
	}
	time.Sleep(20 * time.Millisecond) // the last entries reach every replica
	for part := range 4 {
		want, seq, _ := c.nodes[0].Fingerprint(part)
		for i, s := range c.nodes[1:] {
			got, gotSeq, _ := s.Fingerprint(part)
			if got != want || gotSeq != seq {
				t.Fatalf("partition %d differs on node %d: %s at %d, node 0 has %s at %d", part, i+1, got[:8], gotSeq, want[:8], seq)
			}
		}
	}
}
