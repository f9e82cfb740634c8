package web_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"aperture/web"
)

type sseEvent struct{ id, typ, data string }

// sse connects to the stream and returns its events as they come.
func sse(t *testing.T, base, token, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out, cancel
}

func next(t *testing.T, ch <-chan sseEvent, typ string) sseEvent {
	t.Helper()
	select {
	case ev := <-ch:
		if ev.typ != typ {
			t.Fatalf("got %s event %s, want %s", ev.typ, ev.data, typ)
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s event in 5 s", typ)
	}
	return sseEvent{}
}

// TestStreamResume: two clients of one account get the same live events;
// one disconnects, and on reconnecting with Last-Event-ID receives exactly
// the events it missed, without a new snapshot.
func TestStreamResume(t *testing.T) {
	ts := newServer(t, web.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.Serve(ln)
	defer ts.srv.Shutdown(context.Background())
	base := "http://" + ln.Addr().String()
	ana, _ := ts.signup("ana")
	ben, _ := ts.signup("ben")
	ts.do("POST", "/api/v1/users/ana/follow", ben, nil)
	mine := ts.share(ben, "ben's photo")
	ts.drain()

	one, stop1 := sse(t, base, ben, "")
	defer stop1()
	two, stop2 := sse(t, base, ben, "")
	if hello := next(t, one, "hello"); hello.data != `{"unread":0}` {
		t.Fatalf("hello: %s", hello.data)
	}
	next(t, two, "hello")

	// A new post by ana reaches ben's feed; a like by ana is activity.
	ts.share(ana, "ana's photo")
	e1 := next(t, one, "post")
	if got := next(t, two, "post"); got.id != e1.id {
		t.Fatalf("clients saw different events: %s %s", got.id, e1.id)
	}
	stop2()
	ts.do("POST", "/api/v1/posts/"+mine.ID.String()+"/like", ana, nil)
	ts.do("POST", "/api/v1/posts/"+mine.ID.String()+"/comments", ana, map[string]string{"text": "lovely"})
	e2, e3 := next(t, one, "activity"), next(t, one, "activity")
	if !strings.Contains(e3.data, `"unread":2`) {
		t.Fatalf("unread after a like and a comment: %s", e3.data)
	}
	// The second client comes back with the last ID it saw.
	back, stop3 := sse(t, base, ben, e1.id)
	defer stop3()
	if got := next(t, back, "activity"); got.id != e2.id {
		t.Fatalf("resumed with %s, want %s", got.id, e2.id)
	}
	if got := next(t, back, "activity"); got.id != e3.id {
		t.Fatalf("then %s, want %s", got.id, e3.id)
	}
	select {
	case ev := <-back:
		t.Fatalf("an extra event after resuming: %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
	// Reading the activity clears the badge on every client.
	ts.do("POST", "/api/v1/activity/read", ben, nil)
	if got := next(t, one, "activity"); !strings.Contains(got.data, `"unread":0`) {
		t.Fatalf("after reading: %s", got.data)
	}
	// An unknown or stale ID starts from a snapshot.
	fresh, stop4 := sse(t, base, ben, "nonsense-7")
	defer stop4()
	next(t, fresh, "hello")
	// Signed out: 401.
	res, err := http.Get(base + "/api/v1/stream")
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("anonymous stream: %v %v", res.StatusCode, err)
	}
}

// TestStreamEndsWithItsSession: an open event stream ends, without
// another event, once its session does: signed out, or the account
// suspended or deleted.
func TestStreamEndsWithItsSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(ts *testServer, admin, ben string)
	}{
		{"signed out", func(ts *testServer, _, ben string) { ts.do("POST", "/api/v1/auth/logout", ben, nil) }},
		{"suspended", func(ts *testServer, admin, _ string) { ts.do("POST", "/api/v1/admin/users/ben/suspend", admin, nil) }},
		{"deleted", func(ts *testServer, admin, _ string) { ts.do("DELETE", "/api/v1/admin/users/ben", admin, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newServer(t, web.Config{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go ts.srv.Serve(ln)
			defer ts.srv.Shutdown(context.Background())
			admin := ts.admin("boss")
			ana, _ := ts.signup("ana")
			ben, _ := ts.signup("ben")
			ts.do("POST", "/api/v1/users/ana/follow", ben, nil)
			ts.drain()
			events, stop := sse(t, "http://"+ln.Addr().String(), ben, "")
			defer stop()
			next(t, events, "hello")
			ts.share(ana, "before")
			next(t, events, "post")
			tc.end(ts, admin, ben)
			// Any event wakes the stream, which asks its session again
			// (a quiet one asks at its next heartbeat).
			u, _ := ts.st.UserByUsername("ben")
			ts.hub.Publish(u.ID, "activity", `{"unread":1}`)
			select {
			case ev, open := <-events:
				if open {
					t.Fatalf("an event after the session ended: %+v", ev)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream is still open 5 s after its session ended")
			}
		})
	}
}
