package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"aperture/media"
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
