package main

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"aperture/store"
)

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
