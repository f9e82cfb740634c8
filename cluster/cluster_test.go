package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"aperture/cluster"
	"aperture/feed"
	"aperture/store"
)

// freePorts returns n free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// member is one node of an in-process cluster, with its store.
type member struct {
	node  *cluster.Node
	parts *cluster.Partitions
	st    *store.Store
	pool  *feed.Pool
}

func (m *member) stop() {

	if m.pool != nil {
		m.pool.Stop()
	}

	if m.parts != nil {
		m.parts.Leave()
	}

	if m.st != nil {
		m.st.Close()
	}

	m.node.Close()
}

// startCluster starts three nodes in this process, initialises a cluster
// of parts partitions and opens a store on each.
func startCluster(t *testing.T, parts int) []*member {
	t.Helper()
	ports := freePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(p))
	}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	members := make([]*member, 3)
	for i := range members {
		n, err := cluster.Start(cluster.Config{Name: fmt.Sprintf("node%d", i+1), Listen: routes[i], Routes: routes,
			Secret: "a shared secret", Dir: filepath.Join(dirs[i], "nats"), LeaseTTL: 1500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		members[i] = &member{node: n}
	}
	t.Cleanup(func() {
		start := time.Now()
		for _, m := range members {
			m.stop()
		}
		t.Logf("stopped in %s", time.Since(start))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	for _, m := range members {
		if err := m.node.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("JetStream ready in %s", time.Since(start))
	nc, js, err := cluster.Dial(filepath.Join(dirs[0], "nats"), "a shared secret")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := cluster.Init(ctx, js, parts, 3); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Init(ctx, js, parts, 3); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second init: %v", err)
	}
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _, err := m.node.WaitInit(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			if m.parts, err = m.node.NewPartitions(ctx, p); err != nil {
				t.Error(err)
				return
			}
			kv, err := m.node.GlobalKV(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			if m.st, err = store.Open(filepath.Join(dirs[i], "data"), store.Options{Partitions: p, NoSync: true, Log: m.parts, Router: m.parts, KV: kv}); err != nil {
				t.Error(err)
				return
			}
			m.parts.Attach(m.st)
			m.pool = feed.NewPool(m.st, feed.Config{Poll: 10 * time.Millisecond, Owns: m.parts.Owns}, nil)
			noop := func(context.Context, *store.Job) error { return nil }
			m.pool.Handle(store.JobIndexPost, noop)
			m.pool.Handle(store.JobIndexUser, noop)
			m.pool.Start()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("initialised and opened in %s", time.Since(start))
	// Every partition gets an owner.
	waitUntil(t, 30*time.Second, func() bool {
		for part := range parts {
			owners := 0
			for _, m := range members {
				if m.parts.Owns(part) {
					owners++
				}
			}
			if owners != 1 {
				return false
			}
		}
		return true
	})
	t.Logf("every partition owned in %s", time.Since(start))
	return members
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not within %s", d)
}

// Commands sent to every node land on their partition's owner, each node
// reads its own writes at once, every replica of every partition ends the
// same, and a name is taken once across the nodes.
func TestThreeNodes(t *testing.T) {
	ms := startCluster(t, 8)
	ctx := context.Background()
	start := time.Now()
	var users []*store.User
	for i := range 9 {
		m := ms[i%3]
		u, err := store.Exec(ctx, m.st, store.CreateUser{Meta: store.At(time.Now()), Username: fmt.Sprintf("user%d", i), PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := m.st.User(u.ID); err != nil || got.Username != u.Username {
			t.Fatalf("node %d does not read its write: %v %v", i%3, got, err)
		}
		users = append(users, u)
	}
	for i, u := range users {
		for j, v := range users {
			if i != j {
				if _, err := store.Exec(ctx, ms[(i+j)%3].st, store.Follow{Meta: store.At(time.Now()), FollowerID: u.ID, TargetID: v.ID}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	t.Logf("9 sign-ups and 72 follows through three nodes in %s", time.Since(start))
	// Fifty sign-ups of one name through the three nodes: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := store.Exec(ctx, ms[i%3].st, store.CreateUser{Meta: store.At(time.Now()), Username: "same", PasswordHash: "h"})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else if !errors.Is(err, store.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d sign-ups of one name won", won)
	}
	// The relays run on the owners' worker pools.
	waitUntil(t, 30*time.Second, func() bool {
		for _, m := range ms {
			if s, _ := m.st.OutboxStats(); s.Depth > 0 {
				return false
			}
		}
		return true
	})
	t.Logf("outboxes drained at %s", time.Since(start))
	waitUntil(t, 10*time.Second, func() bool {
		for part := range 8 {
			want, seq, _ := ms[0].st.Fingerprint(part)
			for _, m := range ms[1:] {
				if got, gotSeq, _ := m.st.Fingerprint(part); got != want || gotSeq != seq {
					return false
				}
			}
		}
		return true
	})
	t.Logf("replicas equal at %s", time.Since(start))
	for i, m := range ms {
		if bad, err := m.st.Check(); err != nil || len(bad) > 0 {
			t.Fatalf("node %d: %v %v", i+1, bad, err)
		}
	}
}
