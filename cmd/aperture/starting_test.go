package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aperture/web"
)

// While the server starts, its address answers: /healthz says
// "starting", the API 503 problem+json with Retry-After, a browser a page
// that reloads. Clients dialling through the hand-over to the real server
// are all answered by one or the other, none refused or dropped.
func TestStartingAnswersUntilHandedOver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	early := startEarly(ln, ln.(*net.TCPListener), web.Starting("v1", "opening its storage"))
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", accept)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	res, body := get("/healthz", "application/json")
	var health struct{ Status, Version string }
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &health) != nil || health.Status != "starting" || health.Version != "v1" {
		t.Fatalf("/healthz while starting: %d %s", res.StatusCode, body)
	}
	res, body = get("/api/v1/me", "application/json")
	var p web.Problem
	if res.StatusCode != 503 || res.Header.Get("Content-Type") != "application/problem+json" || res.Header.Get("Retry-After") == "" ||
		json.Unmarshal([]byte(body), &p) != nil || !strings.Contains(p.Detail, "opening its storage") {
		t.Fatalf("the API while starting: %d %v %s", res.StatusCode, res.Header, body)
	}
	res, body = get("/", "text/html,application/xhtml+xml")
	if res.StatusCode != 503 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatalf("a page while starting: %d %s", res.StatusCode, body)
	}

	// Clients keep dialling while the listener changes hands.
	var early503, real200 atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Get(base + "/api/v1/me")
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 503:
					early503.Add(1)
				case 200:
					real200.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	next := early.handOver()
	real := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ready") })}
	go real.Serve(next)
	defer real.Close()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a client was not answered across the hand-over: %v", err)
	}
	if early503.Load() == 0 || real200.Load() == 0 {
		t.Fatalf("answers: %d from the starting server, %d from the real one", early503.Load(), real200.Load())
	}
	if early.handOver() != next {
		t.Fatal("a second hand-over returned another listener")
	}
}
