package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"aperture/cluster"
	"aperture/media"
	"aperture/store"
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
			c.t.Fatalf("node%d did not exit", i)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status reads the cluster's status through node i's client port.
func (c *nodes) status(i int) *cluster.Status {
	c.t.Helper()
	secret, _ := os.ReadFile(filepath.Join(c.dir, "secret"))
	nc, js, err := cluster.Dial(filepath.Join(c.dir, fmt.Sprintf("node%d", i), "data", "nats"), string(secret))
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := cluster.ReadStatus(ctx, js)
	if err != nil {
		c.t.Fatal(err)
	}
	return st
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
	if m := mustReq(t, 200, "POST", node(1)+"/api/v1/posts/"+pid+"/like", ben, nil); m["like_count"].(float64) != 1 {
		t.Fatalf("like: %v", m)
	}
	mustReq(t, 201, "POST", node(2)+"/api/v1/posts/"+pid+"/comments", cy, map[string]string{"text": "Lovely"})
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
	// Fifty sign-ups of one name, spread over the nodes: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := req("POST", node(i)+"/api/v1/auth/signup", "", map[string]string{"username": []string{"dup", "Dup", "DUP"}[i%3], "password": "correct horse battery"})
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[201] != 1 || codes[409] != 49 {
		t.Fatalf("fifty sign-ups of one name: %v", codes)
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

// clusterLoad drives the writes of load (posts, likes, comments, follows)
// through every node in turn, and remembers what was acknowledged.
func clusterLoad(t *testing.T, c *nodes, users int) *load {
	t.Helper()
	l := &load{photo: syntheticPhoto()}
	for i := range users {
		name := fmt.Sprintf("writer%d", i)
		m := mustReq(t, 201, "POST", c.url(1+i%3)+"/api/v1/auth/signup", "", map[string]string{"username": name, "password": "correct horse battery"})
		id, _ := store.ParseID(m["user"].(map[string]any)["id"].(string))
		l.users = append(l.users, loadUser{id: id, name: name, token: m["access_token"].(string)})
	}
	return l
}

// runOn writes until ctx ends, one goroutine per user, each request to
// the next node.
func (l *load) runOn(ctx context.Context, c *nodes) *sync.WaitGroup {
	var wg sync.WaitGroup
	addrs := []string{c.addr(1), c.addr(2), c.addr(3)}
	for i, u := range l.users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i) + time.Now().UnixNano()))
			for n := i; ctx.Err() == nil; n++ {
				l.step(addrs[n%3], u, rng)
			}
		}()
	}
	return &wg
}

// history records operations for porcupine.
type history struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

// op is one operation on an object of the model: a register (a profile's
// bio, a follow edge) written or read, or a set (a post's likers, its
// comments) added to, removed from or read.
type op struct {
	Key   string // "bio:…", "follows:…" (registers), "likes:…", "comments:…" (sets)
	Kind  string // write, read, add, remove
	Value string // what is written, added or removed; for a read of likes, who reads
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

// add records an operation; a write whose outcome is unknown (an error or
// no answer) may have happened at any time after its call.
func (h *history) add(client int, in op, out string, call int64, known bool) {
	ret := h.now()
	if !known {
		if in.Kind == "read" {
			return // a read without an answer tells nothing
		}
		ret = 1 << 62
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

// model is the objects' specification. A register's state is its value;
// a set's is its sorted members, joined by commas. A read of a post's
// likes answers "count|liked" (the like counter and whether the reader
// is among the likers), of its comments the sorted texts.
var model = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, o := range ops {
			k := o.Input.(op).Key
			by[k] = append(by[k], o)
		}
		var out [][]porcupine.Operation
		for _, p := range by {
			out = append(out, p)
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, st := input.(op), state.(string)
		members := func() []string {
			if st == "" {
				return nil
			}
			return strings.Split(st, ",")
		}
		switch in.Kind {
		case "write":
			return true, in.Value
		case "add":
			m := members()
			if !slices.Contains(m, in.Value) {
				m = append(m, in.Value)
				slices.Sort(m)
			}
			return true, strings.Join(m, ",")
		case "remove":
			m := slices.DeleteFunc(members(), func(x string) bool { return x == in.Value })
			return true, strings.Join(m, ",")
		}
		switch {
		case strings.HasPrefix(in.Key, "likes:"):
			m := members()
			return output.(string) == fmt.Sprintf("%d|%v", len(m), slices.Contains(m, in.Value)), st
		default:
			return output.(string) == st, st
		}
	},
	Equal: func(a, b any) bool { return a == b },
}

// linearizable runs clients that write and read through every node until
// ctx ends: each client's own bio (written by it, read by everyone),
// whether it follows a shared account (a follow edge), its like of that
// account's post (the likers, read with the like counter), and comments
// on that post (at most fifteen each, so that one page lists them all).
func linearizable(ctx context.Context, t *testing.T, c *nodes, h *history, clients int) *sync.WaitGroup {
	t.Helper()
	type client struct{ name, token string }
	var cs []client
	for i := range clients {
		name := fmt.Sprintf("lin%d", i)
		m := mustReq(t, 201, "POST", c.url(1+i%3)+"/api/v1/auth/signup", "", map[string]string{"username": name, "password": "correct horse battery"})
		cs = append(cs, client{name, m["access_token"].(string)})
	}
	star := mustReq(t, 201, "POST", c.url(1)+"/api/v1/auth/signup", "", map[string]string{"username": "star", "password": "correct horse battery"})
	media := uploadTo(t, c.addr(2), star["access_token"].(string))["id"].(string)
	post := mustReq(t, 201, "POST", c.url(3)+"/api/v1/posts", star["access_token"].(string), map[string]any{"caption": "shared", "media_ids": []string{media}})["id"].(string)
	var wg sync.WaitGroup
	for i, me := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i)))
			comments := 0
			for n := 0; ctx.Err() == nil; n++ {
				node := c.url(1 + rng.Intn(3))
				call := h.now()
				switch r := rng.Intn(10); r {
				case 0: // write my bio
					v := fmt.Sprintf("%s-%d", me.name, n)
					code, _ := req("PATCH", node+"/api/v1/me", me.token, map[string]any{"bio": v})
					h.add(i, op{"bio:" + me.name, "write", v}, "", call, code == 200)
				case 1: // read someone's bio
					other := cs[rng.Intn(len(cs))]
					code, m := req("GET", node+"/api/v1/users/"+other.name, "", nil)
					bio, _ := m["bio"].(string)
					h.add(i, op{"bio:" + other.name, "read", ""}, bio, call, code == 200)
				case 2, 3: // follow or unfollow the shared account
					method, v := "POST", "following"
					if r == 3 {
						method, v = "DELETE", "" // the register's "not following" is its empty start
					}
					code, _ := req(method, node+"/api/v1/users/star/follow", me.token, nil)
					h.add(i, op{"follows:" + me.name, "write", v}, "", call, code == 200)
				case 4: // do I follow it?
					code, m := req("GET", node+"/api/v1/users/star", me.token, nil)
					v := ""
					if rel, _ := m["relationship"].(map[string]any); rel != nil && rel["following"] == true {
						v = "following"
					}
					h.add(i, op{"follows:" + me.name, "read", ""}, v, call, code == 200)
				case 5, 6: // like or unlike its post
					method, kind := "POST", "add"
					if r == 6 {
						method, kind = "DELETE", "remove"
					}
					code, _ := req(method, node+"/api/v1/posts/"+post+"/like", me.token, nil)
					h.add(i, op{"likes:" + post, kind, me.name}, "", call, code == 200)
				case 7: // its like counter, and do I like it?
					code, m := req("GET", node+"/api/v1/posts/"+post, me.token, nil)
					count, _ := m["like_count"].(float64)
					h.add(i, op{"likes:" + post, "read", me.name}, fmt.Sprintf("%d|%v", int(count), m["liked_by_me"] == true), call, code == 200)
				case 8: // comment on it
					if comments == 15 {
						continue
					}
					comments++
					text := fmt.Sprintf("%s-%d", me.name, n)
					code, _ := req("POST", node+"/api/v1/posts/"+post+"/comments", me.token, map[string]any{"text": text})
					h.add(i, op{"comments:" + post, "add", text}, "", call, code == 201)
				case 9: // its comments
					code, m := req("GET", node+"/api/v1/posts/"+post+"/comments?limit=100", me.token, nil)
					var texts []string
					items, _ := m["items"].([]any)
					for _, it := range items {
						if c, _ := it.(map[string]any); c != nil {
							texts = append(texts, fmt.Sprint(c["text"]))
						}
					}
					slices.Sort(texts)
					h.add(i, op{"comments:" + post, "read", ""}, strings.Join(texts, ","), call, code == 200)
				}
			}
		}()
	}
	return &wg
}

// mostOwner returns the node that owns the most partitions, and those
// partitions.
func (c *nodes) mostOwner() (int, []int) {
	st := c.status(1)
	byNode := map[string][]int{}
	for _, p := range st.Partitions {
		byNode[p.Owner] = append(byNode[p.Owner], p.Partition)
	}
	best, most := 0, -1
	for i := 1; i <= 3; i++ {
		if n := len(byNode[fmt.Sprintf("node%d", i)]); n > most {
			best, most = i, n
		}
	}
	return best, byNode[fmt.Sprintf("node%d", best)]
}

// probes signs up one account on each partition, for timing when each
// partition takes writes.
func probes(t *testing.T, c *nodes) map[int]string {
	t.Helper()
	out := map[int]string{}
	for i := 0; len(out) < clusterParts; i++ {
		name := fmt.Sprintf("probe%d", i)
		part := int(store.ShardForUsername(name)) % clusterParts
		if _, ok := out[part]; ok {
			continue
		}
		m := mustReq(t, 201, "POST", c.url(1)+"/api/v1/auth/signup", "", map[string]string{"username": name, "password": "correct horse battery"})
		out[part] = m["access_token"].(string)
	}
	return out
}

// writable returns how long, from start, until every one of parts took a
// write through node via, each partition tried in turn.
func writable(t *testing.T, c *nodes, via int, parts []int, tokens map[int]string, start time.Time) time.Duration {
	t.Helper()
	var worst time.Duration
	for _, part := range parts {
		deadline := time.Now().Add(40 * time.Second)
		for {
			code, _ := req("PATCH", c.url(via)+"/api/v1/me", tokens[part], map[string]any{"bio": "probe"})
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("partition %d takes no write 40 s on (%d)", part, code)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if d := time.Since(start); d > worst {
			worst = d
		}
	}
	return worst
}

// TestClusterFailover writes through all three nodes while the node that
// owns the most partitions is killed with SIGKILL, restarted, and later
// stopped with SIGTERM, and checks: every acknowledged write is on every
// node afterwards; the killed node's partitions take writes again within
// 10 s, a stopped node's in well under a second; the restarted node
// catches up and takes leases back; the history of a set of registers
// (profiles and follow edges, written and read through every node) is
// linearizable; every replica equals a fresh replay of its partition's
// log; and a photo uploaded on the killed node is served, the same
// bytes, by the others.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts nodes under load")
	}
	c := startNodes(t)
	tokens := probes(t, c)
	l := clusterLoad(t, c, 12)
	h := &history{start: time.Now()}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	loadDone := l.runOn(ctx, c)
	linDone := linearizable(ctx, t, c, h, 6)
	time.Sleep(3 * time.Second)

	// SIGKILL the node that owns the most partitions.
	victim, owned := c.mostOwner()
	photo := uploadTo(t, c.addr(victim), l.users[0].token)
	survivor := 1 + victim%3
	c.signal(victim, syscall.SIGKILL)
	killed := time.Now()
	c.waitExit(victim)
	d := writable(t, c, survivor, owned, tokens, killed)
	t.Logf("killed node%d (owner of %d partitions): all of them took writes again %s later", victim, len(owned), d.Round(10*time.Millisecond))
	if d > 10*time.Second {
		t.Errorf("the killed node's partitions took writes again only %s later", d)
	}
	// Its photo is served by the others, the same bytes.
	small := photo["variants"].(map[string]any)["small"].(map[string]any)["url"].(string)
	a, b := fetch(t, c.url(survivor)+small), fetch(t, c.url(1+survivor%3)+small)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Fatal("the surviving nodes serve different bytes for the killed node's photo")
	}
	time.Sleep(2 * time.Second)

	// It comes back, catches up and takes its leases back.
	restarted := time.Now()
	c.run(victim)
	waitFor(t, 60*time.Second, func() bool {
		// Under the load, "caught up" is within a few entries of each
		// log's end (heartbeats report it every half second); lag 0 is
		// checked once the load stops.
		st := c.status(survivor)
		mine := 0
		for _, p := range st.Partitions {
			if lag, ok := p.Lag[fmt.Sprintf("node%d", victim)]; !ok || lag > 20 {
				return false
			}
			if p.Owner == fmt.Sprintf("node%d", victim) {
				mine++
			}
		}
		return mine > 0
	})
	t.Logf("node%d restarted, caught up and owns partitions again %s later", victim, time.Since(restarted).Round(10*time.Millisecond))
	time.Sleep(2 * time.Second)

	// SIGTERM: the owners move at once.
	victim, owned = c.mostOwner()
	survivor = 1 + victim%3
	c.signal(victim, syscall.SIGTERM)
	termed := time.Now()
	d = writable(t, c, survivor, owned, tokens, termed)
	t.Logf("stopped node%d with SIGTERM (owner of %d partitions): all took writes %s after the signal", victim, len(owned), d.Round(time.Millisecond))
	if d > 2*time.Second {
		t.Errorf("a stopped node's partitions took writes again only %s after the signal", d)
	}
	c.waitExit(victim)
	c.run(victim)
	time.Sleep(2 * time.Second)
	stop()
	loadDone.Wait()
	linDone.Wait()

	// Linearizable.
	res, info := porcupine.CheckOperationsVerbose(model, h.ops, time.Minute)
	if res != porcupine.Ok {
		f := filepath.Join(os.TempDir(), "aperture-linearizability.html")
		porcupine.VisualizePath(model, info, f)
		for _, ops := range model.Partition(h.ops) {
			if porcupine.CheckOperations(model, ops) {
				continue
			}
			sort.Slice(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
			var b strings.Builder
			for _, o := range ops {
				in := o.Input.(op)
				fmt.Fprintf(&b, "client %d %8.3fs–%8.3fs %s %q → %q\n", o.ClientId, float64(o.Call)/1e9, float64(o.Return)/1e9, in.Kind, in.Value, o.Output)
			}
			name := filepath.Join(os.TempDir(), "aperture-lin-"+strings.ReplaceAll(ops[0].Input.(op).Key, ":", "-")+".txt")
			os.WriteFile(name, []byte(b.String()), 0o644)
			t.Errorf("%s is not linearizable (its history: %s)", ops[0].Input.(op).Key, name)
		}
		t.Fatalf("the history of %d operations is not linearizable (%v); see %s", len(h.ops), res, f)
	}
	t.Logf("%d operations on profiles, follow edges, likes with their counter and a comment list, through three nodes and two failovers: linearizable", len(h.ops))

	// Every replica equals a fresh replay of its partition's log.
	waitFor(t, 60*time.Second, func() bool {
		for _, p := range c.status(1).Partitions {
			for _, lag := range p.Lag {
				if lag != 0 {
					return false
				}
			}
		}
		return true
	})
	logs := c.logs()
	for i := 1; i <= 3; i++ {
		c.signal(i, syscall.SIGTERM)
	}
	for i := 1; i <= 3; i++ {
		c.waitExit(i)
	}
	fresh, err := store.Open(t.TempDir(), store.Options{Partitions: clusterParts, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for part, entries := range logs {
		for _, e := range entries {
			if err := fresh.Replay(part, e); err != nil {
				t.Fatalf("replay of partition %d: %v", part, err)
			}
		}
	}
	for i := 1; i <= 3; i++ {
		st, err := store.Open(filepath.Join(c.dir, fmt.Sprintf("node%d", i), "data"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for part := range clusterParts {
			want, wantSeq, _ := fresh.Fingerprint(part)
			got, gotSeq, _ := st.Fingerprint(part)
			if got != want || gotSeq != wantSeq {
				t.Errorf("node%d's partition %d is not its log replayed (%s at %d, the log %s at %d)", i, part, got[:8], gotSeq, want[:8], wantSeq)
			}
		}
		// Every acknowledged write is there.
		l.verify(t, st, -1)
		st.Close()
	}
	t.Logf("%d posts, %d likes, %d comments, %d follows acknowledged: on every node", len(l.posts), len(l.likes), len(l.comments), len(l.follows))
}

// logs reads every partition's log through node 1.
func (c *nodes) logs() map[int][][]byte {
	c.t.Helper()
	secret, _ := os.ReadFile(filepath.Join(c.dir, "secret"))
	nc, js, err := cluster.Dial(filepath.Join(c.dir, "node1", "data", "nats"), string(secret))
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	out, err := cluster.ReadLogs(context.Background(), js)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}
