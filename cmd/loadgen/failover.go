package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"aperture/cluster"
	"aperture/store"
)

// entries returns how many entries all the partitions' logs hold, or 0
// when the status cannot be read.
func (b *clusterBench) entries() int {
	st, err := b.status(0)
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range st.Partitions {
		n += int(p.Entries)
	}
	return n
}

// status reads the cluster's status through node i's client port.
func (b *clusterBench) status(i int) (*cluster.Status, error) {
	secret, err := os.ReadFile(filepath.Join(b.dir, "secret"))
	if err != nil {
		return nil, err
	}
	nc, js, err := cluster.Dial(filepath.Join(b.dir, fmt.Sprintf("node%d", i+1), "data", "nats"), strings.TrimSpace(string(secret)))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cluster.ReadStatus(ctx, js)
}

func (b *clusterBench) pid(i int) int {
	s, _ := os.ReadFile(filepath.Join(b.dir, fmt.Sprintf("node%d", i+1), "pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(s)))
	return pid
}

// gone reports whether a process has exited (or is a zombie).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(s[bytes.LastIndexByte(s, ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

// failover runs b.failovers rounds of SIGKILL and restart and prints
// each round and the medians. While the node is killed and is down,
// b.bgConns publishers write through the live nodes; while it starts
// again and catches up, b.catchup do (none: the time is then that
// of the entries it missed alone).
func (b *clusterBench) failover(ds *dataset) error {
	st, err := b.status(0)
	if err != nil {
		return err
	}
	parts := len(st.Partitions)
	// One account on each partition, whose profile edits probe it.
	type probe struct{ name, token string }
	probes := map[int]*probe{}
	for i := 0; len(probes) < parts && i < 100*parts; i++ {
		name := fmt.Sprintf("probe%d", i)
		part := int(store.ShardForUsername(name)) % parts
		if _, ok := probes[part]; ok {
			continue
		}
		tok, err := signUp(b.client, b.nodes[0], name, b.password)
		if err != nil {
			return err
		}
		probes[part] = &probe{name, tok}
	}
	// write takes a probe's partition a write through base, renewing an
	// expired token.
	write := func(base string, pr *probe) bool {
		body := []byte(`{"bio":"probe"}`)
		req, _ := http.NewRequest("PATCH", base+"/api/v1/me", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+pr.token)
		req.Header.Set("Content-Type", "application/json")
		res, err := b.client.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		if res.StatusCode == http.StatusUnauthorized {
			if tok, err := signUp(b.client, base, pr.name, b.password); err == nil {
				pr.token = tok
			}
		}
		return res.StatusCode == http.StatusOK
	}
	// load runs n publishers on w until the returned function is called.
	load := func(w *writer, n int) func() {
		ctx, cancel := context.WithCancel(context.Background())
		wg := w.start(ctx, b.client, b.nodes, ds, n)
		return func() { cancel(); wg.Wait() }
	}
	fmt.Printf("failover: %d rounds, %d partitions; %d publishers write through the live nodes while a node is killed and down, %d while it starts again\n",
		b.failovers, parts, b.bgConns, b.catchup)
	w := &writer{}
	var writable, serving, caught, owning []float64
	for r := 1; r <= b.failovers; r++ {
		stopLoad := load(w, b.bgConns)
		time.Sleep(2 * time.Second)
		st, err := b.status(0)
		if err != nil {
			stopLoad()
			return err
		}
		byNode := map[string][]int{}
		for _, p := range st.Partitions {
			byNode[p.Owner] = append(byNode[p.Owner], p.Partition)
		}
		victim := 0
		for i := range b.nodes {
			if len(byNode[fmt.Sprintf("node%d", i+1)]) > len(byNode[fmt.Sprintf("node%d", victim+1)]) {
				victim = i
			}
		}
		owned, name := byNode[fmt.Sprintf("node%d", victim+1)], fmt.Sprintf("node%d", victim+1)
		survivor := (victim + 1) % len(b.nodes)
		ok0, err0 := w.ok.Load(), w.errs.Load()
		pid := b.pid(victim)
		w.down.Store(int32(victim + 1))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			stopLoad()
			return fmt.Errorf("kill -9 %s (%d): %w", name, pid, err)
		}
		killed := time.Now()
		applied := map[int]int{} // what the killed node had applied, by partition
		for !gone(pid) {
			if time.Since(killed) > 30*time.Second {
				stopLoad()
				return fmt.Errorf("%s (%d) did not exit", name, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, p := range st.Partitions {
			applied[p.Partition] = int(p.Entries) - p.Lag[name]
		}
		// Each of its partitions, in turn, until it takes a write through
		// another node.
		var first, worst time.Duration
		for _, part := range owned {
			for !write(b.nodes[survivor], probes[part]) {
				if time.Since(killed) > 60*time.Second {
					stopLoad()
					return fmt.Errorf("round %d: partition %d takes no write a minute after %s was killed", r, part, name)
				}
				time.Sleep(20 * time.Millisecond)
			}
			d := time.Since(killed)
			if first == 0 {
				first = d
			}
			worst = max(worst, d)
		}
		writable = append(writable, worst.Seconds())
		time.Sleep(2 * time.Second) // the others write on while it is down
		stopLoad()
		stopLoad = load(w, b.catchup)
		// What it has to catch up with: the logs' entries beyond what it
		// had applied (as its last heartbeat told).
		missed := 0
		if st, err := b.status(survivor); err == nil {
			for _, p := range st.Partitions {
				missed += int(p.Entries) - applied[p.Partition]
			}
		}
		// Start it again; run-local.sh returns once it answers /readyz.
		restart := time.Now()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		out, err := exec.CommandContext(cctx, "bash", b.runLocal, b.dir, strconv.Itoa(victim+1)).CombinedOutput()
		cancel()
		if err != nil {
			stopLoad()
			return fmt.Errorf("round %d: restarting %s: %v\n%s", r, name, err, out)
		}
		serve := time.Since(restart)
		w.down.Store(0)
		// Caught up: a heartbeat of the restarted node that is newer than
		// the restart shows every replica within 20 entries of its log
		// (heartbeats come every half second; writes may go on); owning:
		// it holds a lease again.
		var catch, own time.Duration
		for catch == 0 || own == 0 {
			if time.Since(restart) > 10*time.Minute {
				stopLoad()
				return fmt.Errorf("round %d: %s neither caught up nor took a lease within ten minutes of its restart", r, name)
			}
			time.Sleep(100 * time.Millisecond)
			st, err := b.status(survivor)
			if err != nil {
				continue
			}
			fresh := false
			for _, n := range st.Nodes {
				fresh = fresh || n.Name == name && n.Ready && n.Heartbeat < time.Since(restart).Seconds()
			}
			behind, mine := false, 0
			for _, p := range st.Partitions {
				if lag, ok := p.Lag[name]; !ok || lag > 20 {
					behind = true
				}
				if p.Owner == name {
					mine++
				}
			}
			if catch == 0 && fresh && !behind {
				catch = time.Since(restart)
			}
			if own == 0 && mine > 0 {
				own = time.Since(restart)
			}
		}
		stopLoad()
		serving, caught, owning = append(serving, serve.Seconds()), append(caught, catch.Seconds()), append(owning, own.Seconds())
		fmt.Printf("%d: kill -9 %s (owner of %d of %d partitions): all of them writable again %.2f s later (the first %.2f s); "+
			"restarted %d log entries behind: serving %.2f s, caught up %.2f s, owns partitions again %.2f s; "+
			"meanwhile %d writes acknowledged, %d failed\n",
			r, name, len(owned), parts, worst.Seconds(), first.Seconds(), missed, serve.Seconds(), catch.Seconds(),
			own.Seconds(), w.ok.Load()-ok0, w.errs.Load()-err0)
	}
	printFailures(w.failures(), w.renewed.Load())
	q := func(xs []float64) string {
		return fmt.Sprintf("p50 %.2f s, max %.2f s", median(slices.Clone(xs)), slices.Max(xs))
	}
	fmt.Printf("failover over %d rounds: writable again %s; restarted node serving %s, caught up %s, owning again %s\n",
		len(writable), q(writable), q(serving), q(caught), q(owning))
	// With the load stopped, every replica reaches the end of its log.
	t0 := time.Now()
	for {
		if st, err := b.status(0); err == nil && caughtUp(st) {
			fmt.Printf("after the load: every replica at the end of its log %.1f s later\n", time.Since(t0).Seconds())
			return nil
		}
		if time.Since(t0) > time.Minute {
			return errors.New("after the load, the replicas did not reach the end of their logs within a minute")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// caughtUp reports whether every replica is at the end of its log.
func caughtUp(st *cluster.Status) bool {
	for _, p := range st.Partitions {
		for _, lag := range p.Lag {
			if lag != 0 {
				return false
			}
		}
	}
	return true
}
