package cluster_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aperture/cluster"
	"aperture/store"
)

// countBudgets are a node's own budgets for the test: n "likes" per key,
// never refilled; any other kind is unlimited.
type countBudgets struct {
	n     int
	mu    sync.Mutex
	taken map[string]int
}

func (b *countBudgets) Take(_ context.Context, kind string, _ uint16, key string) (bool, int, time.Duration, error) {
	if kind != "likes" {
		return true, 1 << 20, 0, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.taken[key] >= b.n {
		return false, 0, time.Minute, nil
	}
	b.taken[key]++
	return true, b.n - b.taken[key], 0, nil
}

func (b *countBudgets) count(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.taken[key]
}

// TestLimitsShareOneBudget: one account's takes through three nodes, in
// turn and all at once, draw on one budget, kept by the owner of the
// account's partition; a partition whose owner does not answer is
// counted by the asking node at once, without waiting.
func TestLimitsShareOneBudget(t *testing.T) {
	const parts, budget = 8, 5
	ms := startCluster(t, parts)
	local := make([]*countBudgets, len(ms))
	lims := make([]*cluster.Limits, len(ms))
	for i, m := range ms {
		local[i] = &countBudgets{n: budget, taken: map[string]int{}}
		lims[i] = m.parts.Limits(m.st, local[i])
		lims[i].Patience = 5 * time.Second // a busy machine (the race detector) must not make takes fall back
		t.Cleanup(lims[i].Stop)
	}
	ctx := context.Background()
	// The first node up may hold every partition for a moment: wait
	// until each holds its share and no lease has moved for a second.
	owners := func() (s string) {
		for part := range parts {
			held := 0
			for i, m := range ms {
				if m.parts.Owns(part) {
					s, held = s+strconv.Itoa(i), held+1
				}
			}
			if held != 1 {
				return ""
			}
		}
		return s
	}
	last, since := "", time.Now()
	waitUntil(t, 30*time.Second, func() bool {
		now := owners()
		if now != last || now == "" {
			last, since = now, time.Now()
			return false
		}
		return time.Since(since) > time.Second && strings.Count(now, "0") >= parts/3 &&
			strings.Count(now, "1") >= parts/3 && strings.Count(now, "2") >= parts/3
	})
	// One account on every partition's first shard, so every node owns
	// some of them.
	held := map[int]bool{}
	var accounts []store.ID
	for part := range parts {
		id := store.MakeID(time.Now(), store.PartitionShard(part), 1)
		accounts = append(accounts, id)
		for i, m := range ms {
			if m.parts.Owns(m.st.PartitionOf(id.Shard())) {
				held[i] = true
			}
		}
	}
	if len(held) != 3 {
		t.Fatalf("the accounts' partitions are owned by %d nodes", len(held))
	}
	// The owners' subscriptions reach every node's server.
	fallbacks := func() (n uint64) {
		for _, l := range lims {
			n += l.Fallbacks()
		}
		return n
	}
	waitUntil(t, 10*time.Second, func() bool {
		before := fallbacks()
		for _, id := range accounts {
			for _, l := range lims {
				l.Take(ctx, "probe", id.Shard(), id.String())
			}
		}
		return fallbacks() == before
	})
	probed := fallbacks()

	// In turn: node1, node2, node3, node1, … three times the budget.
	start := time.Now()
	takes := 0
	for _, id := range accounts {
		allowed := 0
		for i := range 3 * budget {
			ok, left, wait, err := lims[i%3].Take(ctx, "likes", id.Shard(), id.String())
			takes++
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				allowed++
				if left != budget-allowed {
					t.Fatalf("take %d of %s: %d left, want %d", i, id, left, budget-allowed)
				}
			} else if wait != time.Minute {
				t.Fatalf("a refusal waits %s, want the owner's minute", wait)
			}
		}
		if allowed != budget {
			t.Fatalf("account %s: %d of %d takes through three nodes allowed, want %d", id, allowed, 3*budget, budget)
		}
		counted := 0
		for i, m := range ms {
			n := local[i].count(id.String())
			if n > 0 && !m.parts.Owns(m.st.PartitionOf(id.Shard())) {
				t.Fatalf("node%d counted %d takes of an account it does not own", i+1, n)
			}
			counted += n
		}
		if counted != budget {
			t.Fatalf("the nodes counted %d takes, want %d", counted, budget)
		}
	}
	t.Logf("%d takes through three nodes in %s (%s each; two in three asked another node)", takes, time.Since(start),
		(time.Since(start) / time.Duration(takes)).Round(time.Microsecond))

	// All at once: 30 takes of a fresh account, ten through each node.
	id := store.MakeID(time.Now(), 3, 2)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _, _, _ := lims[i%3].Take(ctx, "likes", id.Shard(), id.String()); ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != budget {
		t.Fatalf("30 concurrent takes through three nodes: %d allowed, want %d", allowed.Load(), budget)
	}
	if n := fallbacks(); n != probed {
		t.Fatalf("%d takes were counted away from their owner", n-probed)
	}

	// The owner stops answering: another node counts the take itself, at
	// once (no node listens, so nothing is waited for).
	id = store.MakeID(time.Now(), 5, 3)
	owner, other := -1, -1
	for i, m := range ms {
		if m.parts.Owns(m.st.PartitionOf(id.Shard())) {
			owner = i
		} else if other < 0 {
			other = i
		}
	}
	lims[owner].Stop()
	waitUntil(t, 10*time.Second, func() bool {
		before := lims[other].Fallbacks()
		start := time.Now()
		ok, _, _, err := lims[other].Take(ctx, "probe", id.Shard(), id.String())
		return ok && err == nil && lims[other].Fallbacks() == before+1 && time.Since(start) < 250*time.Millisecond
	})
	for i := range budget + 1 {
		ok, _, _, _ := lims[other].Take(ctx, "likes", id.Shard(), id.String())
		if ok != (i < budget) {
			t.Fatalf("take %d on node%d while the owner is silent: %v", i, other+1, ok)
		}
	}
	if n := local[other].count(id.String()); n != budget {
		t.Fatalf("node%d counted %d of the takes itself, want %d", other+1, n, budget)
	}
}
