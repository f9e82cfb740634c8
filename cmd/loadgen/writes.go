package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

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
