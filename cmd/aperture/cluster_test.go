package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"aperture/cluster"
	"aperture/media"
)

// A three-node cluster of the real binary on 127.0.0.1, started by
// deploy/cluster/run-local.sh as the README's walkthrough starts it.
// Every process is stopped by its own PID, and every wait is bounded.

// nodes is a running local cluster.
type nodes struct {
	t   *testing.T
	dir string
	env []string
}

const clusterParts = 8

func startNodes(t *testing.T) *nodes {
	t.Helper()
	c := &nodes{t: t, dir: t.TempDir()}
	c.env = append(os.Environ(), "APERTURE="+binary, "APERTURE_PARTITIONS="+strconv.Itoa(clusterParts), "APERTURE_LOG_LEVEL=warn",
		"APERTURE_AUTH_RATE_IP=100000", "APERTURE_AUTH_RATE_USER=100000", "APERTURE_RATE_POSTS=off", "APERTURE_RATE_COMMENTS=off",
		"APERTURE_RATE_LIKES=off", "APERTURE_RATE_FOLLOWS=off", "APERTURE_RATE_UPLOADS=off", "APERTURE_RATE_READS=off", "APERTURE_WAIT=90")
	t.Cleanup(func() {
		for i := 1; i <= 3; i++ {
			if pid := c.pid(i); pid > 0 {
				syscall.Kill(pid, syscall.SIGCONT)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			for i := 1; i <= 3; i++ {
				b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node%d", i), "log"))
				t.Logf("node%d log (end):\n%s", i, tail(string(b), 3000))
			}
		}
	})
	c.run()
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// run runs run-local.sh for all nodes, or only the given one.
func (c *nodes) run(only ...int) {
	c.t.Helper()
	args := []string{filepath.Join("..", "..", "deploy", "cluster", "run-local.sh"), c.dir}
	for _, n := range only {
		args = append(args, strconv.Itoa(n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("run-local.sh %v: %v\n%s", only, err, out)
	}
}

func (c *nodes) url(i int) string {
	b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node%d", i), "url"))
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (c *nodes) pid(i int) int {
	b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node%d", i), "pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// addr returns node i's host:port, for the helpers that take one.
func (c *nodes) addr(i int) string { return strings.TrimPrefix(c.url(i), "http://") }

// signal sends sig to node i's process.
func (c *nodes) signal(i int, sig syscall.Signal) {
	if err := syscall.Kill(c.pid(i), sig); err != nil {
		c.t.Fatal(err)
	}
}

// waitExit waits (bounded) until node i's process is gone.
func (c *nodes) waitExit(i int) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(c.pid(i), 0) == nil {
		if time.Now().After(deadline) {
			// Its goroutines, for the reader (Go prints them on SIGQUIT).
			syscall.Kill(c.pid(i), syscall.SIGQUIT)
			time.Sleep(time.Second)
			keep := filepath.Join(os.TempDir(), fmt.Sprintf("aperture-node%d-stuck.log", i))
			if b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node%d", i), "log")); err == nil {
				os.WriteFile(keep, b, 0o644)
				// The goroutines in aperture's own code, where it waits.
				for _, g := range strings.Split(string(b), "\n\n") {
					if strings.HasPrefix(g, "goroutine ") && strings.Contains(g, "aperture/") {
						c.t.Log(tail(g, 1500))
					}
				}
			}
			c.t.Fatalf("node%d did not exit within 30 s (its log and goroutines: %s)", i, keep)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status reads the cluster's status through node i's client port.
func (c *nodes) status(i int) *cluster.Status {
	c.t.Helper()
	st, err := c.readStatus(i, 20*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return st
}

// readStatus reads the cluster's status through node i's client port
// within d.
func (c *nodes) readStatus(i int, d time.Duration) (*cluster.Status, error) {
	secret, _ := os.ReadFile(filepath.Join(c.dir, "secret"))
	nc, js, err := cluster.Dial(filepath.Join(c.dir, fmt.Sprintf("node%d", i), "data", "nats"), string(secret))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return cluster.ReadStatus(ctx, js)
}

// owners returns how many partitions each node owns.
func (c *nodes) owners(i int) map[string]int {
	out := map[string]int{}
	for _, p := range c.status(i).Partitions {
		out[p.Owner]++
	}
	return out
}

// req sends a JSON request to a node and decodes the answer; a transport
// error gives status 0.
func req(method, url, token string, body any) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	r, _ := http.NewRequest(method, url, rd)
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(r)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func mustReq(t *testing.T, want int, method, url, token string, body any) map[string]any {
	t.Helper()
	code, m := req(method, url, token, body)
	if code != want {
		t.Fatalf("%s %s: %d %v, want %d", method, url, code, m, want)
	}
	return m
}

// The social core through three nodes, each request to another node: the
// answers are those of one node; a name is taken once by fifty sign-ups
// spread over the nodes; a photo uploaded on one node is served by all,
// the same bytes; a log-out on one node ends the token on another within
// a second.
func TestClusterAPIFlow(t *testing.T) {
	c := startNodes(t)
	u := []string{"", c.url(1), c.url(2), c.url(3)}
	node := func(i int) string { return u[1+i%3] }
	signup := func(i int, name string) (string, string) {
		m := mustReq(t, 201, "POST", node(i)+"/api/v1/auth/signup", "", map[string]string{"username": name, "password": "correct horse battery"})
		return m["access_token"].(string), m["user"].(map[string]any)["id"].(string)
	}
	ana, _ := signup(0, "ana")
	ben, _ := signup(1, "ben")
	cy, _ := signup(2, "cy")
	// ben is private: cy asks, ben approves through another node.
	mustReq(t, 200, "PATCH", node(3)+"/api/v1/me", ben, map[string]any{"private": true})
	if m := mustReq(t, 200, "POST", node(4)+"/api/v1/users/ben/follow", cy, nil); m["state"] != "requested" {
		t.Fatalf("follow a private account: %v", m)
	}
	mustReq(t, 200, "POST", node(5)+"/api/v1/users/ana/follow", cy, nil)
	mustReq(t, 200, "POST", node(6)+"/api/v1/users/ana/follow", ben, nil)
	cyID := mustReq(t, 200, "GET", node(7)+"/api/v1/users/cy", "", nil)["id"].(string)
	waitFor(t, 10*time.Second, func() bool {
		code, m := req("GET", node(8)+"/api/v1/me/follow-requests", ben, nil)
		return code == 200 && len(m["items"].([]any)) == 1
	})
	if code, _ := req("POST", node(9)+"/api/v1/me/follow-requests/"+cyID+"/approve", ben, nil); code != 204 {
		t.Fatalf("approve: %d", code)
	}
	// ana posts a photo on node 1; ben likes on node 2, cy comments on 3.
	media := uploadTo(t, c.addr(1), ana)
	post := mustReq(t, 201, "POST", node(0)+"/api/v1/posts", ana, map[string]any{"caption": "Dawn #quokkaland with @ben",
		"media_ids": []string{media["id"].(string)}, "location": map[string]any{"name": "Quokka Bay", "lat": -32, "lon": 115.5}})
	pid := post["id"].(string)
	// ana's live event stream is on node 3; ben likes on node 2 and cy
	// comments on node 3: the activity events reach her stream.
	events := streamEvents(t, u[3], ana)
	if m := mustReq(t, 200, "POST", node(1)+"/api/v1/posts/"+pid+"/like", ben, nil); m["like_count"].(float64) != 1 {
		t.Fatalf("like: %v", m)
	}
	mustReq(t, 201, "POST", node(2)+"/api/v1/posts/"+pid+"/comments", cy, map[string]string{"text": "Lovely"})
	for n := 0; n < 2; {
		select {
		case ev := <-events:
			if ev == "activity" {
				n++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ana's stream on node3 got %d of the 2 activity events within 10 s", n)
		}
	}
	// Every node answers the same: the post, its counts, the feeds, the
	// hashtag, the place and the map.
	for i := 1; i <= 3; i++ {
		base := u[i]
		waitFor(t, 10*time.Second, func() bool {
			_, p := req("GET", base+"/api/v1/posts/"+pid, cy, nil)
			_, f := req("GET", base+"/api/v1/feed", ben, nil)
			_, tag := req("GET", base+"/api/v1/tags/quokkaland/posts", "", nil)
			_, s := req("GET", base+"/api/v1/search?q=%23quokka&type=tags", "", nil)
			_, near := req("GET", base+"/api/v1/places/nearby?lat=-32&lon=115.5&radius_km=5", "", nil)
			return p != nil && p["like_count"] == 1.0 && p["comment_count"] == 1.0 &&
				f != nil && len(f["items"].([]any)) == 1 && tag != nil && len(tag["items"].([]any)) == 1 &&
				s != nil && len(s["tags"].([]any)) == 1 && near != nil && len(near["items"].([]any)) == 1
		})
	}
	// ben's private post: cy (approved) sees it through every node; ana,
	// who does not follow ben, does not; a blocked account sees nothing.
	bmedia := uploadTo(t, c.addr(2), ben)
	bpost := mustReq(t, 201, "POST", node(1)+"/api/v1/posts", ben, map[string]any{"caption": "mine", "media_ids": []string{bmedia["id"].(string)}})["id"].(string)
	mustReq(t, 204, "POST", node(2)+"/api/v1/users/ana/block", cy, nil)
	for i := 1; i <= 3; i++ {
		waitFor(t, 10*time.Second, func() bool {
			c1, _ := req("GET", u[i]+"/api/v1/posts/"+bpost, cy, nil)
			c2, _ := req("GET", u[i]+"/api/v1/posts/"+bpost, ana, nil)
			c3, _ := req("GET", u[i]+"/api/v1/users/cy", ana, nil)
			c4, _ := req("GET", u[i]+"/api/v1/posts/"+pid, cy, nil)
			return c1 == 200 && c2 == 403 && c3 == 404 && c4 == 404
		})
	}
	// The photo, from every node, the same bytes.
	var want []byte
	for i := 1; i <= 3; i++ {
		b := fetch(t, u[i]+media["variants"].(map[string]any)["small"].(map[string]any)["url"].(string))
		if want == nil {
			want = b
		} else if !bytes.Equal(b, want) {
			t.Fatalf("node%d serves other bytes for the photo", i)
		}
	}
	// Fifty sign-ups of one name, spread over the nodes: one wins. A
	// client asks again after a 503 (a busy machine can make a node wait
	// too long for the name's bucket); since a 503 may hide a sign-up
	// that was made, the one account may then answer a retry with 409.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := 503
			for try := 0; code == 503 && try < 5; try++ {
				code, _ = req("POST", node(i+try)+"/api/v1/auth/signup", "", map[string]string{"username": []string{"dup", "Dup", "DUP"}[i%3], "password": "correct horse battery"})
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[201] > 1 || codes[201]+codes[409] != 50 {
		t.Fatalf("fifty sign-ups of one name: %v", codes)
	}
	for i := 1; i <= 3; i++ {
		mustReq(t, 200, "GET", u[i]+"/api/v1/users/dup", "", nil)
	}
	// A log-out on node 1 ends the token on node 3 within a second.
	tok := mustReq(t, 200, "POST", u[3]+"/api/v1/auth/login", "", map[string]string{"username": "ana", "password": "correct horse battery"})["access_token"].(string)
	mustReq(t, 200, "GET", u[3]+"/api/v1/me", tok, nil)
	if code, _ := req("POST", u[1]+"/api/v1/auth/logout", tok, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	start := time.Now()
	waitFor(t, time.Second, func() bool { code, _ := req("GET", u[3]+"/api/v1/me", tok, nil); return code == 401 })
	t.Logf("a log-out on node1 reached node3 in %s", time.Since(start).Round(time.Millisecond))
}

// streamEvents opens token's live event stream on the node at base and
// sends the type of each event it gets, until the test ends.
func streamEvents(t *testing.T, base, token string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/stream", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(r)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", res, err)
	}
	out := make(chan string, 64)
	hello := make(chan struct{})
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			typ, ok := strings.CutPrefix(sc.Text(), "event: ")
			if !ok {
				continue
			}
			if typ == "hello" {
				close(hello)
				continue
			}
			select {
			case out <- typ:
			default:
			}
		}
	}()
	select {
	case <-hello:
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream did not open within 10 s")
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// uploadTo uploads a generated photo to the node at addr.
func uploadTo(t *testing.T, addr, token string) map[string]any {
	t.Helper()
	code, m := do(addr, "POST", "/api/v1/media", token, photoBytes(), true)
	if code != 201 {
		t.Fatalf("upload: %d %v", code, m)
	}
	return m
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	return b
}

var photoOnce struct {
	sync.Once
	b []byte
}

// photoBytes is a small generated photo.
func photoBytes() []byte {
	photoOnce.Do(func() { photoOnce.b = syntheticPhoto() })
	return photoOnce.b
}

func syntheticPhoto() []byte { return media.Synthetic(96, 96, 5) }
