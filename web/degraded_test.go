package web_test

import (
	"testing"

	"aperture/media"
	"aperture/web"
)

// /readyz says "degraded", with the sentence, on a server that serves
// but cannot do everything (a cluster node cut off from most of its
// cluster), and "ok" otherwise; both are 200, as the server still serves.
func TestReadyzDegraded(t *testing.T) {
	const why = "This node has lost touch with most of its cluster."
	sentence := why
	ts := newServerDeps(t, web.Config{}, media.Config{}, func(d *web.Deps) { d.Degraded = func() string { return sentence } })
	r := ts.do("GET", "/readyz", "", nil)
	if m := r.json(t); r.status != 200 || m["status"] != "degraded" || m["detail"] != why {
		t.Fatalf("degraded /readyz: %d %s", r.status, r.body)
	}
	sentence = ""
	r = ts.do("GET", "/readyz", "", nil)
	if m := r.json(t); r.status != 200 || m["status"] != "ok" || m["detail"] != nil {
		t.Fatalf("whole /readyz: %d %s", r.status, r.body)
	}
}
