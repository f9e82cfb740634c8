package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestHealthNamesTheFailingCheck: "aperture health" asks whether the
// server is alive, then whether it is ready, and says which failed.
func TestHealthNamesTheFailingCheck(t *testing.T) {
	for _, tc := range []struct {
		name            string
		healthz, readyz string // status codes and bodies
		hcode, rcode    int
		code            int
		want            string
	}{
		{"ready", `{"status":"ok"}`, `{"status":"ok"}`, 200, 200, 0, "ok"},
		{"degraded", `{"status":"ok"}`, `{"status":"degraded","detail":"no quorum: 1 of 3 nodes"}`, 200, 200, 0, "degraded: no quorum: 1 of 3 nodes"},
		{"starting", `{"status":"starting"}`, `{}`, 200, 503, 1, "alive: the server is still starting"},
		{"not ready", `{"status":"ok"}`, `{"status":503,"detail":"The search index is being rebuilt."}`, 200, 503, 1,
			"ready: /readyz answered 503 Service Unavailable: The search index is being rebuilt."},
		{"broken", `oops`, `{}`, 500, 200, 1, "alive: /healthz answered 500 Internal Server Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, code := tc.healthz, tc.hcode
				if r.URL.Path == "/readyz" {
					body, code = tc.readyz, tc.rcode
				}
				w.WriteHeader(code)
				w.Write([]byte(body))
			})}
			go srv.Serve(ln)
			defer srv.Close()
			out, code := runBinary(t, nil, "health", "--addr", ln.Addr().String())
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, %q; want %d and %q", code, out, tc.code, tc.want)
			}
		})
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if out, code := runBinary(t, nil, "health", "--addr", addr); code == 0 || !strings.Contains(out, "alive: the server at "+addr+" does not answer") {
		t.Fatalf("nothing listening: %d %q", code, out)
	}
}
