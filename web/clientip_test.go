package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"aperture/web"
)

// loggedIP returns the client address the access log gave the request
// with this ID.
func loggedIP(t *testing.T, ts *testServer, id string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(ts.log.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
			IP        string `json:"ip"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "request" && line.RequestID == id {
			return line.IP
		}
	}
	t.Fatalf("no access log line for %s", id)
	return ""
}

// The peer of requests made with app.Test.
const testPeer = "0.0.0.0"

// TestClientIPBehindProxies: the client's address is the peer's, unless
// the peer is a trusted proxy; then it is the rightmost address of the
// proxy header that is not a trusted proxy. The header of any other peer,
// and the header the server was not told to read, count for nothing.
func TestClientIPBehindProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix(testPeer + "/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:aaaa::/48")}
	servers := map[string]*testServer{
		"none":      newServer(t, web.Config{}),
		"untrusted": newServer(t, web.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}),
		"xff":       newServer(t, web.Config{TrustedProxies: trusted}),
		"forwarded": newServer(t, web.Config{TrustedProxies: trusted, ProxyHeader: "Forwarded"}),
	}
	type hdr = [2]string
	cases := []struct {
		server, name string
		headers      []hdr
		want         string
	}{
		{"none", "no proxies: the header is ignored", []hdr{{"X-Forwarded-For", "203.0.113.7"}}, testPeer},
		{"none", "no proxies: Forwarded is ignored", []hdr{{"Forwarded", "for=203.0.113.7"}}, testPeer},
		{"untrusted", "a spoofed header from an untrusted peer", []hdr{{"X-Forwarded-For", "203.0.113.7"}}, testPeer},
		{"untrusted", "a spoofed chain from an untrusted peer", []hdr{{"X-Forwarded-For", "203.0.113.7, 10.0.0.2"}}, testPeer},
		{"xff", "no header", nil, testPeer},
		{"xff", "one proxy", []hdr{{"X-Forwarded-For", "203.0.113.7"}}, "203.0.113.7"},
		{"xff", "what the client wrote is skipped", []hdr{{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}}, "203.0.113.7"},
		{"xff", "a chain of trusted proxies", []hdr{{"X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.1.1.1, 10.0.0.2"}}, "203.0.113.7"},
		{"xff", "two header lines", []hdr{{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-For", "203.0.113.7, 10.0.0.2"}}, "203.0.113.7"},
		{"xff", "no spaces", []hdr{{"X-Forwarded-For", "198.51.100.1,203.0.113.7,10.0.0.2"}}, "203.0.113.7"},
		{"xff", "a port", []hdr{{"X-Forwarded-For", "203.0.113.7:5555"}}, "203.0.113.7"},
		{"xff", "IPv6", []hdr{{"X-Forwarded-For", "2001:db8:cafe::17, 2001:db8:aaaa::2"}}, "2001:db8:cafe::17"},
		{"xff", "IPv6 with brackets and a port", []hdr{{"X-Forwarded-For", "[2001:db8:cafe::17]:4711"}}, "2001:db8:cafe::17"},
		{"xff", "IPv4 in IPv6", []hdr{{"X-Forwarded-For", "::ffff:203.0.113.7"}}, "203.0.113.7"},
		{"xff", "garbage", []hdr{{"X-Forwarded-For", "garbage"}}, testPeer},
		{"xff", "garbage where the proxy wrote", []hdr{{"X-Forwarded-For", "203.0.113.7, not-an-address"}}, testPeer},
		{"xff", "garbage the client wrote", []hdr{{"X-Forwarded-For", "<script>, 203.0.113.7"}}, "203.0.113.7"},
		{"xff", "an empty header", []hdr{{"X-Forwarded-For", ""}}, testPeer},
		{"xff", "empty elements", []hdr{{"X-Forwarded-For", ", ,203.0.113.7, "}}, testPeer},
		{"xff", "only trusted proxies", []hdr{{"X-Forwarded-For", "10.0.0.5, 10.0.0.2"}}, testPeer},
		{"xff", "a Forwarded header is not read", []hdr{{"Forwarded", "for=198.51.100.1"}, {"X-Forwarded-For", "203.0.113.7"}}, "203.0.113.7"},
		{"xff", "a Forwarded header alone is not read", []hdr{{"Forwarded", "for=198.51.100.1"}}, testPeer},
		{"xff", "a huge header", []hdr{{"X-Forwarded-For", strings.Repeat("198.51.100.1, ", 500) + "203.0.113.7"}}, "203.0.113.7"},
		{"forwarded", "one proxy", []hdr{{"Forwarded", "for=203.0.113.7"}}, "203.0.113.7"},
		{"forwarded", "parameters and case", []hdr{{"Forwarded", "For=203.0.113.7;proto=https;by=10.0.0.2"}}, "203.0.113.7"},
		{"forwarded", "a chain", []hdr{{"Forwarded", "for=198.51.100.1, for=203.0.113.7;proto=https, for=10.0.0.2"}}, "203.0.113.7"},
		{"forwarded", "quoted IPv6 with a port", []hdr{{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"forwarded", "an obfuscated identifier", []hdr{{"Forwarded", "for=_hidden, for=10.0.0.2"}}, testPeer},
		{"forwarded", "unknown", []hdr{{"Forwarded", "for=unknown"}}, testPeer},
		{"forwarded", "no for", []hdr{{"Forwarded", "proto=https"}}, testPeer},
		{"forwarded", "an unclosed quote the client wrote", []hdr{{"Forwarded", `for="198.51.100.1, for=203.0.113.7`}}, "203.0.113.7"},
		{"forwarded", "X-Forwarded-For is not read", []hdr{{"X-Forwarded-For", "198.51.100.1"}}, testPeer},
	}
	for i, tc := range cases {
		t.Run(tc.server+": "+tc.name, func(t *testing.T) {
			ts := servers[tc.server]
			id := fmt.Sprintf("ipcase%d", i)
			req := httptest.NewRequest("GET", "/healthz", nil)
			req.Header.Set("X-Request-ID", id)
			for _, h := range tc.headers {
				req.Header.Add(h[0], h[1])
			}
			if r := ts.send(req, ""); r.status != 200 {
				t.Fatalf("healthz: %d", r.status)
			}
			if got := loggedIP(t, ts, id); got != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
}

// TestProxiedClientsHaveTheirOwnLimits: behind a trusted proxy each
// client has its own per-address bucket; from an untrusted peer, no
// header buys a new one.
func TestProxiedClientsHaveTheirOwnLimits(t *testing.T) {
	login := func(ts *testServer, xff string) int {
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"nobody","password":"wrong password"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		return ts.send(req, "").status
	}
	proxied := newServer(t, web.Config{AuthPerIP: 2, AuthPerUser: 1000, TrustedProxies: []netip.Prefix{netip.MustParsePrefix(testPeer + "/32")}})
	for range 2 {
		if st := login(proxied, "203.0.113.7"); st != 401 {
			t.Fatalf("first attempts: %d", st)
		}
	}
	if st := login(proxied, "198.51.100.1, 203.0.113.7"); st != 429 {
		t.Fatalf("the same client, whatever it prepends: %d, want 429", st)
	}
	if st := login(proxied, "203.0.113.8"); st != 401 {
		t.Fatalf("another client behind the proxy: %d, want 401", st)
	}
	direct := newServer(t, web.Config{AuthPerIP: 2, AuthPerUser: 1000})
	for i := range 2 {
		login(direct, fmt.Sprintf("203.0.113.%d", i))
	}
	if st := login(direct, "203.0.113.99"); st != 429 {
		t.Fatalf("a spoofed header bought a new bucket: %d", st)
	}
}
