package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"aperture/media"
)

// soak runs a mixed load for d at rate requests per second — about 80%
// reads (home feed and profiles), 10% likes, 5% comments, 5% posts with a
// small photo — and prints, each minute, the errors, the p99 latency, the
// server's RSS (from /proc/PID) and the outbox depth (from /metrics). A
// fixed rate, not as fast as possible: a closed loop at saturation only
// shows that writes can outrun the background workers.
func soak(client *http.Client, base string, tokens, names []string, conns int, d time.Duration, pid, rate int) error {
	photo := media.Synthetic(96, 96, 11)
	var mu sync.Mutex
	var lat []time.Duration
	var errs, total atomic.Int64
	var posts struct {
		sync.Mutex
		ids []string
	}
	deadline := time.Now().Add(d)
	tick := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second / time.Duration(max(rate, 1)))
		defer t.Stop()
		for time.Now().Before(deadline) {
			<-t.C
			select {
			case tick <- struct{}{}:
			default: // every worker busy: the server is behind; skip
			}
		}
		close(tick)
	}()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for range tick {
				tok := tokens[rng.Intn(len(tokens))]
				t0 := time.Now()
				ok := true
				switch r := rng.Intn(100); {
				case r < 60:
					ok = get(client, base+"/api/v1/feed?limit=20", tok)
				case r < 80:
					ok = get(client, base+"/api/v1/users/"+names[rng.Intn(len(names))]+"/posts?limit=12", tok)
				case r < 95:
					posts.Lock()
					var id string
					if len(posts.ids) > 0 {
						id = posts.ids[rng.Intn(len(posts.ids))]
					}
					posts.Unlock()
					if id == "" {
						continue
					}
					if r < 90 {
						ok = send(client, "POST", base+"/api/v1/posts/"+id+"/like", tok, nil, "") != nil
					} else {
						ok = send(client, "POST", base+"/api/v1/posts/"+id+"/comments", tok, []byte(`{"text":"soak"}`), "application/json") != nil
					}
				default:
					var body bytes.Buffer
					mw := multipart.NewWriter(&body)
					fw, _ := mw.CreateFormFile("file", "p.jpg")
					fw.Write(photo)
					mw.Close()
					m := send(client, "POST", base+"/api/v1/media", tok, body.Bytes(), mw.FormDataContentType())
					if m == nil {
						ok = false
						break
					}
					p := send(client, "POST", base+"/api/v1/posts", tok, []byte(`{"caption":"soak #soak","media_ids":["`+m["id"].(string)+`"]}`), "application/json")
					if ok = p != nil; ok {
						posts.Lock()
						posts.ids = append(posts.ids, p["id"].(string))
						posts.Unlock()
					}
				}
				total.Add(1)
				if !ok {
					errs.Add(1)
					continue
				}
				dt := time.Since(t0)
				mu.Lock()
				lat = append(lat, dt)
				mu.Unlock()
			}
		}()
	}
	fmt.Printf("soak: %d requests/s for %s over %d connections\n", rate, d, conns)
	fmt.Printf("%-6s %9s %7s %9s %10s %10s %8s\n", "minute", "requests", "errors", "p99 ms", "anon MB", "mapped MB", "outbox")
	start := time.Now()
	var maxRSS, firstRSS, lastRSS float64
	maxDepth, totalErrs := 0, int64(0)
	for m := 1; time.Since(start) < d; m++ {
		time.Sleep(time.Until(start.Add(time.Duration(m) * time.Minute)))
		mu.Lock()
		window := lat
		lat = nil
		mu.Unlock()
		slices.Sort(window)
		p99 := 0.0
		if len(window) > 0 {
			p99 = float64(window[len(window)*99/100].Microseconds()) / 1000
		}
		e := errs.Swap(0)
		totalErrs += e
		rss, mapped := rssMB(pid)
		depth := outboxDepth(client, base)
		if m == 1 {
			firstRSS = rss
		}
		lastRSS, maxRSS, maxDepth = rss, max(maxRSS, rss), max(maxDepth, depth)
		fmt.Printf("%-6d %9d %7d %9.1f %10.0f %10.0f %8d\n", m, total.Swap(0), e, p99, rss, mapped, depth)
	}
	wg.Wait()
	fmt.Printf("soak %s: %d errors; anonymous RSS %.0f MB after the first minute, %.0f MB at the end, %.0f MB at most; outbox depth at most %d\n",
		d, totalErrs, firstRSS, lastRSS, maxRSS, maxDepth)
	return nil
}

func get(client *http.Client, url, tok string) bool {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == 200
}

func send(client *http.Client, method, url, tok string, body []byte, ctype string) map[string]any {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	if res.StatusCode/100 != 2 {
		return nil
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// rssMB reads a process's resident memory from /proc: the anonymous part
// (heap, stacks) and the file-backed part (mostly bbolt's memory map of
// the database, pages the kernel may drop at will).
func rssMB(pid int) (anon, file float64) {
	if pid <= 0 {
		return 0, 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	mb := func(rest string) float64 {
		kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		return float64(kb) / 1024
	}
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			anon = mb(rest)
		}
		if rest, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			file = mb(rest)
		}
	}
	return anon, file
}

// outboxDepth reads aperture_outbox_depth from /metrics.
func outboxDepth(client *http.Client, base string) int {
	res, err := client.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "aperture_outbox_depth "); ok {
			n, _ := strconv.ParseFloat(rest, 64)
			return int(n)
		}
	}
	return -1
}
