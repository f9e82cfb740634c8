package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rssAnonKB reads a process's anonymous resident memory.
func rssAnonKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// TestStreamAtScale holds 1,000 idle event streams open on the real
// binary, measures the server's memory per connection, then delivers
// events to all of them and measures deliveries per second.
func TestStreamAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	const clients, events = 1000, 20
	p := start(t, t.TempDir())
	_, reader := call(t, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": "reader", "password": "correct horse battery"})
	_, liker := call(t, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": "liker", "password": "correct horse battery"})
	rtok, ltok := reader["access_token"].(string), liker["access_token"].(string)
	var posts []string
	for range events {
		media := uploadPhoto(t, p, rtok)
		_, post := call(t, p, "POST", "/api/v1/posts", rtok, map[string]any{"caption": "x", "media_ids": []string{media}})
		posts = append(posts, post["id"].(string))
	}
	waitOutbox(t, p, 30*time.Second)
	before := rssAnonKB(t, p.cmd.Process.Pid)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: tr}
	var got atomic.Int64
	var ready, all sync.WaitGroup
	ready.Add(clients)
	all.Add(clients)
	for range clients {
		go func() {
			defer all.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.addr+"/api/v1/stream", nil)
			req.Header.Set("Authorization", "Bearer "+rtok)
			res, err := client.Do(req)
			if err != nil {
				ready.Done()
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			first := true
			for sc.Scan() {
				line := sc.Text()
				if first && line == "event: hello" {
					first = false
					ready.Done()
				}
				if line == "event: activity" && got.Add(1) == clients*events {
					return
				}
			}
		}()
	}
	ready.Wait()
	time.Sleep(500 * time.Millisecond)
	after := rssAnonKB(t, p.cmd.Process.Pid)
	perConn := float64(after-before) / clients
	t.Logf("%d idle streams: server anonymous memory %d → %d KB, %.1f KB per connection", clients, before, after, perConn)

	start := time.Now()
	for _, id := range posts {
		if code, m := call(t, p, "POST", "/api/v1/posts/"+id+"/like", ltok, nil); code != 200 {
			t.Fatalf("like: %d %v", code, m)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < clients*events && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	if got.Load() != clients*events {
		t.Fatalf("delivered %d of %d events", got.Load(), clients*events)
	}
	t.Logf("%d events to each of %d streams: %d deliveries in %s, %.0f deliveries/s", events, clients, clients*events, took.Round(time.Millisecond),
		float64(clients*events)/took.Seconds())
	if perConn > 100 {
		t.Fatalf("%.0f KB per idle connection", perConn)
	}
	cancel()
	all.Wait()
}
