// Command loadgen measures aperture's whole flows over loopback with real
// tokens: the home feed against two HTTP ceilings of the machine (a small
// JSON answer encoded per request and a static ~4 KB one) in alternating
// rounds, the home page as HTML, with -posts, photo uploads and post
// creation followed by the drain of their fan-out, and with -follows,
// follows and then their undoing, each followed by the drain of the work
// it queued. It is bounded in time and in requests, and only talks to the
// address it is given (127.0.0.1 by default).
//
//	loadgen -addr 127.0.0.1:8080 -conns 64 -duration 5s -rounds 3 -posts 8000 -follows 4000
//
// With -cluster it measures instead a three-node cluster started by
// deploy/cluster/run-local.sh in that directory, against the single node
// at -single if given, with the same load on both: acknowledged writes
// (likes, unlikes, comments, profile edits) over -conns publishers, the
// home feed through each node, and with -failovers, rounds of SIGKILL of
// the node owning the most partitions and its restart (see cluster.go):
//
//	loadgen -cluster /tmp/c -single 127.0.0.1:8080 -conns 64 -duration 5s -rounds 3 -populate 128 -failovers 5
//
// It signs in as accounts found on the explore page, with the seed's
// password (see "aperture seed"); with -cluster it signs its own accounts
// up through the API.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "aperture's address (loopback only)")
	conns := flag.Int("conns", 64, "concurrent connections")
	duration := flag.Duration("duration", 10*time.Second, "how long each phase runs")
	maxReq := flag.Int64("max", 2_000_000, "most requests per phase")
	password := flag.String("password", "aperture-demo", "the seeded accounts' password")
	accounts := flag.Int("accounts", 16, "accounts to sign in as")
	rounds := flag.Int("rounds", 3, "alternating ceiling/feed rounds")
	posts := flag.Int("posts", 0, "then upload this many photos and time creating a post with each")
	follows := flag.Int("follows", 0, "then time this many follows of accounts not yet followed, and their undoing")
	soakFor := flag.Duration("soak", 0, "instead, run a mixed read/write soak this long")
	pid := flag.Int("pid", 0, "the server's process ID, for its RSS during a soak")
	rate := flag.Int("rate", 250, "requests per second during a soak")
	clusterDir := flag.String("cluster", "", "instead, measure the three-node cluster that deploy/cluster/run-local.sh started in this directory")
	single := flag.String("single", "", "with -cluster: a single node (no cluster) to compare against, host:port")
	populate := flag.Int("populate", 128, "with -cluster: accounts to sign up on each (at least -conns)")
	failovers := flag.Int("failovers", 0, "with -cluster: then this many rounds of SIGKILL and restart of a node")
	failoverConns := flag.Int("failover-conns", 8, "with -failovers: publishers writing while a node is killed and down")
	catchupConns := flag.Int("catchup-conns", 0, "with -failovers: publishers writing while it starts again and catches up")
	runLocal := flag.String("run-local", "deploy/cluster/run-local.sh", "with -failovers: the script that starts a node again")
	flag.Parse()
	if *clusterDir != "" {
		b := &clusterBench{dir: *clusterDir, conns: *conns, d: *duration, rounds: *rounds, populate: *populate,
			failovers: *failovers, bgConns: max(min(*failoverConns, *populate), 1),
			catchup: min(*catchupConns, *populate), password: *password, runLocal: *runLocal,
			client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, ReadBufferSize: 64 << 10},
				Timeout: 10 * time.Second}}
		if *single != "" {
			b.single = "http://" + *single
		}
		if *populate < *conns {
			fmt.Fprintln(os.Stderr, "loadgen: -populate must be at least -conns (one account per publisher)")
			os.Exit(2)
		}
		if err := b.run(); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*addr, *conns, *duration, *rounds, *posts, *follows, *maxReq, *password, *accounts, *soakFor, *pid, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(addr string, conns int, d time.Duration, rounds, posts, follows int, maxReq int64, password string, accounts int, soakFor time.Duration, pid, rate int) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("loadgen only sends traffic to loopback addresses")
	}
	base := "http://" + addr
	// The client shares the machine's cores with the server, so it reads
	// each answer with as few system calls as it can (a feed page is
	// ~22 KB; the default 4 KB buffer takes four reads for it).
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, ReadBufferSize: 64 << 10},
		Timeout: 10 * time.Second}
	if err := waitReady(client, base); err != nil {
		return err
	}
	tokens, names, err := signIn(client, base, password, accounts)
	if err != nil {
		return err
	}
	if soakFor > 0 {
		return soak(client, base, tokens, names, conns, soakFor, pid, rate)
	}
	fmt.Printf("signed in as %d accounts; %d connections, %s per phase, %d rounds\n", len(tokens), conns, d, rounds)
	// Both endpoints are warmed up first (connections, caches, the heap's
	// size), then measured in alternating rounds, so that a slow spell of
	// the shared machine falls on both; the ratio is the median round's.
	type phase struct {
		name, path string
		tokens     []string
	}
	// Two ceilings: a small JSON answer encoded per request, and a static
	// ~4 KB answer held pre-encoded in memory (the icon sprite, asked for
	// uncompressed); both pass through every middleware the feed does.
	phases := []phase{
		{"ceiling GET /api/v1/filters", "/api/v1/filters", nil},
		{"static GET /assets/icons.svg", "/assets/icons.svg", nil},
		{"home feed GET /api/v1/feed", "/api/v1/feed?limit=20", tokens},
	}
	for _, p := range phases {
		load(client, base+p.path, p.tokens, false, conns, d/5, maxReq)
	}
	var perJSON, perStatic []float64
	for r := 1; r <= rounds; r++ {
		var res []result
		for _, p := range phases {
			x := load(client, base+p.path, p.tokens, false, conns, d, maxReq)
			x.print(fmt.Sprintf("%d: %s", r, p.name))
			res = append(res, x)
		}
		if res[0].rate > 0 && res[1].rate > 0 {
			perJSON, perStatic = append(perJSON, res[2].rate/res[0].rate), append(perStatic, res[2].rate/res[1].rate)
			fmt.Printf("%d: feed / ceiling: %.2f   feed / static: %.2f\n", r, res[2].rate/res[0].rate, res[2].rate/res[1].rate)
		}
	}
	if len(perJSON) > 0 {
		fmt.Printf("median of %d rounds: feed / ceiling %.2f, feed / static %.2f\n", len(perJSON), median(perJSON), median(perStatic))
	}
	// The home page as a browser gets it: HTML of the first 10 posts,
	// signed in by the session cookie.
	page := load(client, base+"/", tokens, true, conns, d, maxReq)
	page.print("home page GET / (HTML)")
	if posts > 0 {
		if err := postFlow(client, base, tokens, conns, posts); err != nil {
			return err
		}
	}
	if follows > 0 {
		return followFlow(client, base, tokens, names, conns, follows)
	}
	return nil
}

// waitReady waits up to two minutes for the server to answer /readyz (it
// rebuilds bbolt's free-page list at start, a walk of the whole file).
func waitReady(client *http.Client, base string) error {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err := client.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("the server did not become ready within two minutes")
}

// signIn logs in as accounts that appear on the explore page.
func signIn(client *http.Client, base, password string, n int) (tokens, names []string, err error) {
	var page struct {
		Items []struct {
			Author struct {
				Username string `json:"username"`
			} `json:"author"`
		} `json:"items"`
	}
	// The explore ranking is computed in the background after a start.
	for deadline := time.Now().Add(time.Minute); len(page.Items) == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		res, err := client.Get(base + "/api/v1/explore?limit=100")
		if err != nil {
			return nil, nil, err
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	seen := map[string]bool{}
	for _, it := range page.Items {
		name := it.Author.Username
		if seen[name] || len(tokens) == n {
			continue
		}
		seen[name] = true
		body, _ := json.Marshal(map[string]string{"username": name, "password": password})
		res, err := client.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		var g struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(res.Body).Decode(&g)
		res.Body.Close()
		if g.AccessToken != "" {
			tokens, names = append(tokens, g.AccessToken), append(names, name)
		}
	}
	if len(tokens) == 0 {
		return nil, nil, errors.New("could not sign in as any account on the explore page (seed the data directory first)")
	}
	return tokens, names, nil
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

type result struct {
	n, errs  int64
	rate     float64
	p50, p99 time.Duration
	bytes    int64
}

func (r result) print(name string) {
	fmt.Printf("%-32s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %6d B/resp  errors %d\n",
		name, r.rate, float64(r.p50.Microseconds())/1000, float64(r.p99.Microseconds())/1000, r.bytes, r.errs)
}

// load runs conns workers against url for d (or maxReq requests),
// rotating through tokens, and returns the rate and latency quantiles.
// With cookie the token travels as the browser's session cookie.
func load(client *http.Client, url string, tokens []string, cookie bool, conns int, d time.Duration, maxReq int64) result {
	var count, errs, size atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			for i := 0; time.Now().Before(deadline) && count.Add(1) <= maxReq; i++ {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Accept-Encoding", "identity") // every answer as it is on the wire uncompressed
				if len(tokens) > 0 {
					tok := tokens[(w+i)%len(tokens)]
					if cookie {
						req.Header.Set("Cookie", "ap_at="+tok)
					} else {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				n, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					errs.Add(1)
					continue
				}
				size.Store(n)
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{n: int64(len(lat)), errs: errs.Load(), bytes: size.Load()}
	if len(lat) > 0 {
		r.rate = float64(len(lat)) / elapsed.Seconds()
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return r
}
