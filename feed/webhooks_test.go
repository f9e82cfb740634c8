package feed_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
	"aperture/store/storetest"
)

type hookLog struct {
	mu    sync.Mutex
	times []time.Time
	fail  bool
}

func (h *hookLog) handler(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.times = append(h.times, time.Now())
	if h.fail {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (h *hookLog) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.times)
}

func startPool(t *testing.T, st *store.Store) *feed.Pool {
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxAttempts: 20}, nil)
	noop := func(context.Context, *store.Job) error { return nil }
	pool.Handle(store.JobIndexPost, noop)
	pool.Handle(store.JobIndexUser, noop)
	(&feed.Webhooks{St: st, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: time.Second}).Register(pool)
	pool.Start()
	return pool
}

func taggedPost(t *testing.T, st *store.Store, author store.ID, i int) {
	t.Helper()
	ctx := context.Background()
	m, err := store.Exec(ctx, st, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: author, Hash: fmt.Sprintf("%064x", i), Width: 10, Height: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Exec(ctx, st, store.CreatePost{Meta: store.At(time.Now()), AuthorID: author, Caption: "#sunset", MediaIDs: []store.ID{m.ID}}); err != nil {
		t.Fatal(err)
	}
}

// TestWebhookRetriesThenDisables: a failing callback is retried with
// growing delays, and after store.MaxSubFailures failures in a row the
// subscription is disabled; enabling it clears the failures.
func TestWebhookRetriesThenDisables(t *testing.T) {
	st, err := storetest.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	u, _ := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "x"})
	h := &hookLog{fail: true}
	srv := httptest.NewServer(http.HandlerFunc(h.handler))
	defer srv.Close()
	sub, err := store.Exec(ctx, st, store.CreateSubscription{Meta: store.At(time.Now()), Sub: store.Subscription{OwnerID: u.ID,
		Object: store.SubTag, Tag: "sunset", CallbackURL: srv.URL, Secret: "0123456789abcdef0123"}})
	if err != nil {
		t.Fatal(err)
	}
	pool := startPool(t, st)
	defer pool.Stop()
	taggedPost(t, st, u.ID, 1)
	deadline := time.Now().Add(20 * time.Second)
	for h.count() < store.MaxSubFailures && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	h.mu.Lock()
	times := append([]time.Time(nil), h.times...)
	h.mu.Unlock()
	if len(times) != store.MaxSubFailures {
		t.Fatalf("%d attempts, want %d", len(times), store.MaxSubFailures)
	}
	// Each retry waits at least its backoff (10 ms, doubled each time);
	// once the backoff dwarfs the time a delivery takes on a busy machine
	// (from 80 ms), the measured delays grow too.
	for i := 1; i < len(times); i++ {
		gap, backoff := times[i].Sub(times[i-1]), 10*time.Millisecond<<(i-1)
		if gap < backoff*9/10 {
			t.Fatalf("retry %d came %v after the one before, under its backoff of %v", i, gap, backoff)
		}
		if backoff >= 80*time.Millisecond && gap <= times[i-1].Sub(times[i-2]) {
			t.Fatalf("delays do not grow: %v then %v", times[i-1].Sub(times[i-2]), gap)
		}
	}
	s, _ := st.Subscription(sub.ID)
	if s.Status != store.SubDisabled || s.Failures != store.MaxSubFailures {
		t.Fatalf("after the failures: %+v", s)
	}
	s, err = store.Exec(ctx, st, store.SetSubscription{Meta: store.At(time.Now()), OwnerID: u.ID, SubID: sub.ID, Enabled: true})
	if err != nil || s.Status != store.SubActive || s.Failures != 0 {
		t.Fatalf("enable: %+v %v", s, err)
	}
}

// TestWebhookAfterRestart: a delivery queued while no worker runs is made
// when the workers start again.
func TestWebhookAfterRestart(t *testing.T) {
	st, err := storetest.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	u, _ := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "x"})
	h := &hookLog{}
	srv := httptest.NewServer(http.HandlerFunc(h.handler))
	defer srv.Close()
	store.Exec(ctx, st, store.CreateSubscription{Meta: store.At(time.Now()), Sub: store.Subscription{OwnerID: u.ID,
		Object: store.SubUser, UserID: u.ID, CallbackURL: srv.URL, Secret: "0123456789abcdef0123"}})
	taggedPost(t, st, u.ID, 2) // no pool yet: the jobs wait in the outbox
	if h.count() != 0 {
		t.Fatal("delivered without workers")
	}
	pool := startPool(t, st)
	defer pool.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for h.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if h.count() != 1 {
		t.Fatalf("%d deliveries after the restart", h.count())
	}
}
