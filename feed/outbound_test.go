package feed_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aperture/feed"
	"aperture/store"
)

// leaks matches what a sentence shown to people must never carry: an IPv4
// or IPv6 address, a resolver's address, or Go's raw network errors.
var leaks = regexp.MustCompile(`(\d{1,3}\.){3}\d{1,3}|([0-9a-fA-F]{0,4}:){2,}|dial tcp|lookup |connect:|read tcp|x509|tls:|i/o timeout|\[::`)

// echo is a callback that passes verification.
func echo() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("hub.challenge"))
	}))
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// rawServer answers every connection with fn.
func rawServer(t *testing.T, fn func(net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fn(c)
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestDialsOnlyTheCheckedAddress: a name whose answers change between
// lookups (DNS rebinding) reaches only an address that was checked when
// the connection was made; a name with one refused address among its
// answers is refused whole.
func TestDialsOnlyTheCheckedAddress(t *testing.T) {
	good := echo()
	defer good.Close()
	_, port, _ := net.SplitHostPort(good.Listener.Addr().String())
	trap, err := net.Listen("tcp", "127.0.0.2:"+port)
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	defer trap.Close()
	var trapped atomic.Int32
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			trapped.Add(1)
			c.Close()
		}
	}()
	var lookups atomic.Int32
	w := &feed.Webhooks{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: 5 * time.Second,
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			switch host {
			case "rebind.example":
				if lookups.Add(1)%2 == 1 {
					return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
				}
				return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
			case "mixed.example":
				return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.1")}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}}
	ok, refused := 0, 0
	for range 10 {
		err := w.Verify(context.Background(), "http://rebind.example:"+port+"/hook", "tag:x")
		var r *feed.RefusedError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &r):
			refused++
		default:
			t.Fatalf("unexpected: %v", err)
		}
	}
	if ok != 5 || refused != 5 || trapped.Load() != 0 {
		t.Fatalf("%d verified, %d refused, %d connections to the unchecked address", ok, refused, trapped.Load())
	}
	if err := w.Verify(context.Background(), "http://mixed.example:"+port+"/hook", "tag:x"); err == nil || !strings.Contains(err.Error(), "not public") {
		t.Fatalf("a name with a private answer among public ones: %v", err)
	}
}

// TestCallErrorsAreSafeToShow: every way a call can fail gives a sentence
// that names the host as written, never an address it resolved to, the
// resolver's address or a raw network error; the log still gets those.
func TestCallErrorsAreSafeToShow(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	good := echo()
	defer good.Close()
	_, plainPort, _ := net.SplitHostPort(good.Listener.Addr().String())
	reason := rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.1 500 backend 10.9.9.9 down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	// The timeout leaves a busy machine's TLS handshakes room; the silent
	// server outlasts it.
	silent := rawServer(t, func(c net.Conn) { time.Sleep(12 * time.Second); c.Close() })
	hangup := rawServer(t, func(c net.Conn) { c.Read(make([]byte, 4096)); c.Close() })
	closed := freePort(t)

	resolver := &net.DNSError{Err: "server misbehaving", Name: "flaky.example", Server: "10.53.0.1:53", IsTemporary: true}
	w := &feed.Webhooks{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: 2 * time.Second,
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			switch host {
			case "hooks.example":
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			case "inside.example":
				return []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil
			case "nat64.example":
				return []netip.Addr{netip.MustParseAddr("64:ff9b::a9fe:a9fe")}, nil
			case "mapped.example":
				return []netip.Addr{netip.MustParseAddr("::ffff:192.168.1.1")}, nil
			case "flaky.example":
				return nil, resolver
			}
			return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.53.0.1:53", IsNotFound: true}
		}}
	cases := []struct {
		name, url, says, logs string
	}{
		{"unknown name", "http://nowhere.example/hook", "there is no host called nowhere.example", "10.53.0.1"},
		{"resolver failure", "http://flaky.example/hook", "the name flaky.example could not be looked up", "10.53.0.1"},
		{"name to a private address", "http://inside.example/hook", "inside.example resolves to an address that is not public", "10.0.0.1"},
		{"name to NAT64 of link-local", "http://nat64.example/hook", "nat64.example resolves to an address that is not public", "64:ff9b::a9fe:a9fe"},
		{"name to IPv4-mapped private", "http://mapped.example/hook", "mapped.example resolves to an address that is not public", "192.168.1.1"},
		{"private literal", "http://10.1.2.3/hook", "the address is not public", "10.1.2.3"},
		{"benchmarking literal", "http://198.18.0.1/hook", "the address is not public", "Benchmarking"},
		{"reserved literal", "http://240.0.0.1/hook", "the address is not public", "Reserved"},
		{"NAT64 literal", "http://[64:ff9b::a00:1]/hook", "the address is not public", "Private-Use"},
		{"6to4 literal", "http://[2002:a00:1::1]/hook", "the address is not public", "6to4"},
		{"IPv4-compatible literal", "http://[::127.0.0.1]/hook", "the address is not public", "IPv4-compatible"},
		{"refused port by name", "http://hooks.example:" + closed + "/hook", "hooks.example refused the connection", "connection refused"},
		{"refused port by address", "http://127.0.0.1:" + closed + "/hook", "the host refused the connection", "127.0.0.1"},
		{"bad certificate", "https://hooks.example:" + tlsPort + "/hook", "hooks.example has a TLS certificate that is not valid for it", "x509"},
		{"not HTTPS", "https://hooks.example:" + plainPort + "/hook", "hooks.example does not speak HTTPS on that port", "HTTPS client"},
		{"peer's reason phrase", "http://hooks.example:" + reason + "/hook", "the callback answered 500 Internal Server Error instead of echoing the challenge", "500"},
		{"no answer", "http://hooks.example:" + silent + "/hook", "hooks.example did not answer in time", "hooks.example"},
		{"hang-up", "http://hooks.example:" + hangup + "/hook", "hooks.example closed the connection without answering", "EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := w.Verify(context.Background(), tc.url, "tag:x")
			var ce *feed.CallError
			if !errors.As(err, &ce) {
				t.Fatalf("not a CallError: %T %v", err, err)
			}
			if err.Error() != tc.says {
				t.Fatalf("says %q, want %q", err.Error(), tc.says)
			}
			if m := leaks.FindString(err.Error()); m != "" {
				t.Fatalf("%q leaks %q", err.Error(), m)
			}
			if logged := slog.AnyValue(err).Resolve().String(); !strings.Contains(logged, tc.logs) {
				t.Fatalf("the log line %q lacks %q", logged, tc.logs)
			}
		})
	}
}

// TestDeliveryStatusIsSafeToShow: the failure a subscription shows its
// owner (settings page, API) after a failed delivery is one of the same
// sentences.
func TestDeliveryStatusIsSafeToShow(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	u, _ := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: "ana", PasswordHash: "x"})
	reason := rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.1 502 upstream 172.17.0.3:8080 refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	var mu sync.Mutex
	answers := map[string]string{"moved.example": "127.0.0.1"}
	pool := feed.NewPool(st, feed.Config{Poll: 5 * time.Millisecond, BaseBackoff: time.Hour, MaxAttempts: 20}, nil)
	noop := func(context.Context, *store.Job) error { return nil }
	pool.Handle(store.JobIndexPost, noop)
	pool.Handle(store.JobIndexUser, noop)
	(&feed.Webhooks{St: st, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: time.Second,
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			mu.Lock()
			defer mu.Unlock()
			if a, ok := answers[host]; ok {
				return []netip.Addr{netip.MustParseAddr(a)}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.53.0.1:53", IsNotFound: true}
		}}).Register(pool)
	subs := map[string]string{
		"http://moved.example:" + reason + "/hook": "the callback answered 502 Bad Gateway",
		"http://gone.example/hook":                 "there is no host called gone.example",
		"http://[::ffff:10.0.0.7]/hook":            "the address is not public",
	}
	ids := map[string]store.ID{}
	for cb := range subs {
		s, err := store.Exec(ctx, st, store.CreateSubscription{Meta: store.At(time.Now()), Sub: store.Subscription{OwnerID: u.ID,
			Object: store.SubTag, Tag: "sunset", CallbackURL: cb, Secret: "0123456789abcdef0123"}})
		if err != nil {
			t.Fatal(err)
		}
		ids[cb] = s.ID
	}
	pool.Start()
	defer pool.Stop()
	taggedPost(t, st, u.ID, 3)
	for cb, want := range subs {
		t.Run(cb, func(t *testing.T) {
			deadline := time.Now().Add(5 * time.Second)
			var s *store.Subscription
			for time.Now().Before(deadline) {
				if s, _ = st.Subscription(ids[cb]); s != nil && s.LastError != "" {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if s == nil || s.LastError != want {
				t.Fatalf("last error %q, want %q", s.LastError, want)
			}
			if m := leaks.FindString(s.LastError); m != "" {
				t.Fatalf("%q leaks %q", s.LastError, m)
			}
		})
	}
}
