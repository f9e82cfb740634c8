package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"aperture/cluster"
	"aperture/media"
	"aperture/store"
)

// clusterBench measures a three-node cluster started by
// deploy/cluster/run-local.sh in dir, against a single node (no cluster)
// at single when one is given, with the same load on both:
//
//   - populate: accounts signed up through the API (each with two posts of
//     a small photo, following the next few accounts), on each;
//   - writes: conns publishers, one account each, liking and unliking,
//     commenting and editing their profile as fast as they are answered,
//     each request to the next node; rounds alternate between the single
//     node and the cluster, and the ratio is the median round's;
//   - the home feed through each node in turn, in alternating rounds;
//   - failovers rounds, with bgConns publishers writing through the live
//     nodes (catchup of them while the node starts again): the node owning the most partitions is killed with
//     SIGKILL, and the time until each of its partitions takes a write
//     through another node is measured; then it is started again with
//     run-local.sh and the time until it serves, until its replicas are
//     within a few entries of every log, and until it owns partitions
//     again is measured.
//
// The cluster's nodes are found in dir (nodeN/url, nodeN/pid, secret) and
// only they are killed; every request goes to a loopback address.
type clusterBench struct {
	client    *http.Client
	dir       string
	nodes     []string // the cluster's base URLs, node1..node3
	single    string   // the single node's base URL, or ""
	conns     int
	d         time.Duration
	rounds    int
	populate  int
	failovers int
	bgConns   int // publishers writing while a node is killed and down
	catchup   int // and while it starts again
	password  string
	runLocal  string
	photo     []byte
}

// dataset is what populate made on one target: accounts and their posts.
type dataset struct {
	accounts []account
	posts    []string
	liked    []map[string]bool // by account: the posts it likes now
	password string
}

type account struct{ name, token string }

func (b *clusterBench) run() error {
	for i := 1; i <= 3; i++ {
		u, err := os.ReadFile(filepath.Join(b.dir, fmt.Sprintf("node%d", i), "url"))
		if err != nil {
			return fmt.Errorf("no cluster in %s (start it with deploy/cluster/run-local.sh): %w", b.dir, err)
		}
		b.nodes = append(b.nodes, strings.TrimSpace(string(u)))
	}
	for _, u := range append(slices.Clone(b.nodes), b.single) {
		if u == "" {
			continue
		}
		if err := loopback(u); err != nil {
			return err
		}
		if err := waitReady(b.client, u); err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
	}
	b.photo = media.Synthetic(96, 96, 3)
	var solo, clus *dataset
	var err error
	if b.single != "" {
		if solo, err = b.fill("1 node", []string{b.single}); err != nil {
			return err
		}
	}
	if clus, err = b.fill("3 nodes", b.nodes); err != nil {
		return err
	}
	fmt.Printf("%d publishers, %s per phase, %d rounds\n", b.conns, b.d, b.rounds)
	// Writes, in alternating rounds after a short warm-up of each.
	if solo != nil {
		b.writes([]string{b.single}, solo, b.d/5)
	}
	b.writes(b.nodes, clus, b.d/5)
	var ws, wc, ratios []float64
	var pSolo, pClus [][2]time.Duration
	for r := 1; r <= b.rounds; r++ {
		var rs writeResult
		if solo != nil {
			rs = b.writes([]string{b.single}, solo, b.d)
			rs.print(fmt.Sprintf("%d: writes, 1 node", r))
			ws, pSolo = append(ws, rs.rate), append(pSolo, [2]time.Duration{rs.p50, rs.p99})
		}
		e0 := b.entries()
		rc := b.writes(b.nodes, clus, b.d)
		rc.print(fmt.Sprintf("%d: writes, 3 nodes", r))
		if err := b.answering(); err != nil {
			return err
		}
		if e0 > 0 && rc.n > 0 {
			e := b.entries() - e0
			fmt.Printf("    the logs grew by %d entries (these writes and the jobs they queued): %.2f acknowledged writes per entry\n",
				e, float64(rc.n)/float64(max(e, 1)))
		}
		wc, pClus = append(wc, rc.rate), append(pClus, [2]time.Duration{rc.p50, rc.p99})
		if solo != nil && rs.rate > 0 {
			ratios = append(ratios, rc.rate/rs.rate)
			fmt.Printf("%d: writes 3 nodes / 1 node: %.2f\n", r, rc.rate/rs.rate)
		}
	}
	if solo != nil {
		fmt.Printf("median of %d rounds: writes 1 node %.0f/s (p50 %s, p99 %s), 3 nodes %.0f/s (p50 %s, p99 %s), 3 nodes / 1 node %.2f\n",
			len(ws), median(slices.Clone(ws)), ms(medianDur(pSolo, 0)), ms(medianDur(pSolo, 1)),
			median(slices.Clone(wc)), ms(medianDur(pClus, 0)), ms(medianDur(pClus, 1)), median(ratios))
	} else {
		fmt.Printf("median of %d rounds: writes 3 nodes %.0f/s (p50 %s, p99 %s)\n", len(wc), median(slices.Clone(wc)),
			ms(medianDur(pClus, 0)), ms(medianDur(pClus, 1)))
	}
	// The home feed through each node in turn.
	type via struct {
		name, url string
		tokens    []string
	}
	var feeds []via
	if solo != nil {
		feeds = append(feeds, via{"1 node", b.single, tokensOf(solo)})
	}
	for i, u := range b.nodes {
		feeds = append(feeds, via{fmt.Sprintf("node%d", i+1), u, tokensOf(clus)})
	}
	for _, f := range feeds {
		load(b.client, f.url+"/api/v1/feed?limit=20", f.tokens, false, b.conns, b.d/5, 2_000_000)
	}
	rates := make([][]float64, len(feeds))
	for r := 1; r <= b.rounds; r++ {
		for i, f := range feeds {
			x := load(b.client, f.url+"/api/v1/feed?limit=20", f.tokens, false, b.conns, b.d, 2_000_000)
			x.print(fmt.Sprintf("%d: home feed via %s", r, f.name))
			rates[i] = append(rates[i], x.rate)
		}
		if err := b.answering(); err != nil {
			return err
		}
	}
	var parts []string
	for i, f := range feeds {
		parts = append(parts, fmt.Sprintf("%s %.0f", f.name, median(rates[i])))
	}
	fmt.Printf("median of %d rounds: home feed req/s via %s\n", b.rounds, strings.Join(parts, ", "))
	if b.failovers > 0 {
		return b.failover(clus)
	}
	return nil
}

// answering checks that every node still answers /readyz within five
// seconds, so that a node that stopped answering is named, not only
// counted in errors.
func (b *clusterBench) answering() error {
	c := &http.Client{Timeout: 5 * time.Second}
	var bad []string
	for i, u := range append(slices.Clone(b.nodes), b.single) {
		if u == "" {
			continue
		}
		res, err := c.Get(u + "/readyz")
		if err == nil {
			res.Body.Close()
		}
		if err != nil || res.StatusCode != http.StatusOK {
			name := fmt.Sprintf("node%d", i+1)
			if i == len(b.nodes) {
				name = "the single node"
			}
			bad = append(bad, fmt.Sprintf("%s (%s)", name, u))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s no longer answered /readyz within 5 s", strings.Join(bad, ", "))
	}
	return nil
}

func tokensOf(ds *dataset) []string {
	var out []string
	for _, a := range ds.accounts {
		out = append(out, a.token)
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func medianDur(xs [][2]time.Duration, i int) time.Duration {
	var v []time.Duration
	for _, x := range xs {
		v = append(v, x[i])
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// loopback refuses a base URL whose host is not a loopback address.
func loopback(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("loadgen only sends traffic to loopback addresses")
	}
	return nil
}

// fill signs up b.populate accounts through urls (one after another, or
// signs in if the name is taken from an earlier run), gives each two
// posts of a small photo and has it follow the next eight accounts, then
// waits for every node's outbox to drain. A step that fails is tried
// again, twice at most; the retries and the first error are reported.
func (b *clusterBench) fill(label string, urls []string) (*dataset, error) {
	const follows, posts = 8, 2
	t0 := time.Now()
	ds := &dataset{accounts: make([]account, b.populate), liked: make([]map[string]bool, b.populate), password: b.password}
	for i := range ds.liked {
		ds.liked[i] = map[string]bool{}
	}
	var retries atomic.Int64
	var firstErr atomic.Value
	retry := func(fn func(i int) error) func(i int) error {
		return func(i int) error {
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				if err = fn(i); err == nil {
					return nil
				}
				retries.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				time.Sleep(time.Second)
			}
			return err
		}
	}
	// A password hash takes a core for tens of milliseconds and the
	// server hashes two at a time, so sign-ups go four at a time.
	r := each(4, b.populate, retry(func(i int) error {
		name := fmt.Sprintf("bench%d", i)
		tok, err := signUp(b.client, urls[i%len(urls)], name, b.password)
		ds.accounts[i] = account{name, tok}
		return err
	}))
	if r.errs > 0 {
		return nil, fmt.Errorf("%s: %d of %d sign-ups failed (%v)", label, r.errs, b.populate, firstErr.Load())
	}
	ids := make([]string, b.populate*posts)
	r = each(b.conns, len(ids), retry(func(i int) error {
		a, base := ds.accounts[i/posts], urls[i%len(urls)]
		m, err := uploadPhoto(b.client, base, a.token, b.photo)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]any{"caption": "From the load generator #loadgen", "media_ids": []string{m}})
		req, _ := http.NewRequest("POST", base+"/api/v1/posts", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.token)
		req.Header.Set("Content-Type", "application/json")
		res, err := b.client.Do(req)
		if err != nil {
			return err
		}
		var p struct {
			ID string `json:"id"`
		}
		json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || p.ID == "" {
			return fmt.Errorf("create post: %s", res.Status)
		}
		ids[i] = p.ID
		return nil
	}))
	if r.errs > 0 {
		return nil, fmt.Errorf("%s: %d of %d posts failed (%v)", label, r.errs, len(ids), firstErr.Load())
	}
	ds.posts = ids
	n := min(follows, b.populate-1)
	r = each(b.conns, b.populate*n, retry(func(k int) error {
		a, target := ds.accounts[k/n], ds.accounts[(k/n+1+k%n)%b.populate]
		req, _ := http.NewRequest("POST", urls[k%len(urls)]+"/api/v1/users/"+target.name+"/follow", nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		return expect(b.client.Do(req))
	}))
	if r.errs > 0 {
		return nil, fmt.Errorf("%s: %d of %d follows failed (%v)", label, r.errs, b.populate*n, firstErr.Load())
	}
	for _, u := range urls {
		if err := quietDrain(b.client, u); err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
	}
	fmt.Printf("%s: %d accounts, %d posts, %d follows made through the API in %.1f s\n", label, b.populate, len(ids), b.populate*n, time.Since(t0).Seconds())
	if n := retries.Load(); n > 0 {
		fmt.Printf("    %d steps were tried again; the first error: %v\n", n, firstErr.Load())
	}
	return ds, nil
}

// signUp signs an account up, or signs in when its name is taken; a
// server busy hashing passwords (503) is asked again, up to five times.
func signUp(client *http.Client, base, name, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": name, "password": password})
	path := "/api/v1/auth/signup"
	for attempt := 0; ; attempt++ {
		res, err := client.Post(base+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		var g struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(res.Body).Decode(&g)
		res.Body.Close()
		switch {
		case g.AccessToken != "":
			return g.AccessToken, nil
		case res.StatusCode == http.StatusConflict && path != "/api/v1/auth/login":
			path = "/api/v1/auth/login"
		case res.StatusCode == http.StatusServiceUnavailable && attempt < 5:
			time.Sleep(time.Second)
		default:
			return "", fmt.Errorf("%s %s: %s", path, name, res.Status)
		}
	}
}

// quietDrain waits, up to two minutes, for base's outbox to be empty.
func quietDrain(client *http.Client, base string) error {
	for t0 := time.Now(); time.Since(t0) < 2*time.Minute; time.Sleep(100 * time.Millisecond) {
		if outboxDepth(client, base) == 0 {
			return nil
		}
	}
	return fmt.Errorf("the outbox of %s did not drain within two minutes", base)
}

// writeResult is a write phase's rate and latencies, what it wrote, and
// the first few distinct errors.
type writeResult struct {
	result
	kinds   [4]int64 // like, unlike, comment, profile
	renewed int64
	failed  map[string]int64
}

func (r writeResult) print(name string) {
	r.result.print(name)
	fmt.Printf("    %d likes, %d unlikes, %d comments, %d profile edits acknowledged\n", r.kinds[0], r.kinds[1], r.kinds[2], r.kinds[3])
	printFailures(r.failed, r.renewed)
}

// printFailures prints the failed writes by error, most frequent first.
func printFailures(failed map[string]int64, renewed int64) {
	var msgs []string
	for m := range failed {
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(a, b string) int { return int(failed[b] - failed[a]) })
	for _, m := range msgs {
		fmt.Printf("    %d× %s\n", failed[m], m)
	}
	if renewed > 0 {
		fmt.Printf("    (%d access tokens expired and were renewed by signing in again)\n", renewed)
	}
}

// writer is the state of a running write load.
type writer struct {
	ok, errs atomic.Int64
	renewed  atomic.Int64
	kinds    [4]atomic.Int64
	mu       sync.Mutex
	lat      []time.Duration
	failed   map[string]int64 // by error, at most 20 kinds
	down     atomic.Int32     // 1 + the index of a node not to send to, or 0
}

// partitionN is a partition's number in an error, left out so that
// errors group by kind.
var partitionN = regexp.MustCompile(`[Pp]artition \d+`)

func (w *writer) fail(msg string) {
	msg = partitionN.ReplaceAllStringFunc(msg, func(m string) string { return m[:len("partition")] + " N" })
	w.errs.Add(1)
	w.mu.Lock()
	if w.failed == nil {
		w.failed = map[string]int64{}
	}
	if _, ok := w.failed[msg]; ok || len(w.failed) < 20 {
		w.failed[msg]++
	}
	w.mu.Unlock()
}

// failures returns a copy of the failed writes by error.
func (w *writer) failures() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.failed)
}

// problem is the detail of an error answer (RFC 9457), or its start.
func problem(b []byte) string {
	var p struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(b, &p) == nil && p.Detail != "" {
		return p.Detail
	}
	return fmt.Sprintf("%.100s", strings.TrimSpace(string(b)))
}

// start runs conns publishers (at most one per account) until ctx ends:
// each, as its own account, likes or unlikes a random post (four in ten),
// comments on one (three in ten) or edits its profile (three in ten),
// each request to the next of urls that is not down. An access token
// that expired (they last 15 minutes) is renewed by signing in again.
func (w *writer) start(ctx context.Context, client *http.Client, urls []string, ds *dataset, conns int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for p := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, liked := ds.accounts[p], ds.liked[p]
			rng := rand.New(rand.NewSource(int64(p) + time.Now().UnixNano()))
			mine := make([]time.Duration, 0, 4096)
			for i := p; ctx.Err() == nil; i++ {
				n := i % len(urls)
				if n == int(w.down.Load())-1 {
					n = (n + 1) % len(urls)
				}
				base := urls[n]
				post := ds.posts[rng.Intn(len(ds.posts))]
				var method, path, ctype string
				var body []byte
				want, kind := 200, 0
				switch r := rng.Intn(10); {
				case r < 4:
					method, path = "POST", "/api/v1/posts/"+post+"/like"
					if liked[post] {
						method, kind = "DELETE", 1
					}
				case r < 7:
					method, path, want, kind = "POST", "/api/v1/posts/"+post+"/comments", 201, 2
					body, ctype = []byte(`{"text":"from the load generator"}`), "application/json"
				default:
					method, path, kind = "PATCH", "/api/v1/me", 3
					body, ctype = []byte(fmt.Sprintf(`{"bio":"loadgen %d"}`, i)), "application/json"
				}
				req, _ := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+a.token)
				if ctype != "" {
					req.Header.Set("Content-Type", ctype)
				}
				what := []string{"like", "unlike", "comment", "profile edit"}[kind]
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						var ue *url.Error
						if errors.As(err, &ue) {
							err = ue.Err
						}
						w.fail(fmt.Sprintf("%s: %v", what, err))
					}
					continue
				}
				var msg bytes.Buffer
				msg.ReadFrom(res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusUnauthorized {
					if tok, err := signUp(client, base, a.name, ds.password); err == nil {
						a.token, ds.accounts[p].token = tok, tok
						w.renewed.Add(1)
						continue
					}
				}
				if res.StatusCode != want {
					w.fail(fmt.Sprintf("%s: %s: %s", what, res.Status, problem(msg.Bytes())))
					continue
				}
				mine = append(mine, time.Since(t0))
				w.ok.Add(1)
				w.kinds[kind].Add(1)
				if kind < 2 {
					liked[post] = kind == 0
				}
			}
			w.mu.Lock()
			w.lat = append(w.lat, mine...)
			w.mu.Unlock()
		}()
	}
	return &wg
}

// writes runs the write load through urls for d and returns its figures.
func (b *clusterBench) writes(urls []string, ds *dataset, d time.Duration) writeResult {
	w := &writer{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	w.start(ctx, b.client, urls, ds, b.conns).Wait()
	elapsed := time.Since(start)
	slices.Sort(w.lat)
	r := writeResult{result: result{n: int64(len(w.lat)), errs: w.errs.Load()}, failed: w.failures(), renewed: w.renewed.Load()}
	for k := range r.kinds {
		r.kinds[k] = w.kinds[k].Load()
	}
	if len(w.lat) > 0 {
		r.rate = float64(len(w.lat)) / elapsed.Seconds()
		r.p50, r.p99 = w.lat[len(w.lat)/2], w.lat[len(w.lat)*99/100]
	}
	return r
}

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
