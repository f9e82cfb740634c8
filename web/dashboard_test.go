package web_test

import (
	"net/url"
	"strings"
	"testing"

	"aperture/media"
	"aperture/web"
)

// TestAdminDashboardSizesFromTheStart: before the first minute closes the
// dashboard already shows what the database, index and photos take.
func TestAdminDashboardSizesFromTheStart(t *testing.T) {
	ts := newServerDeps(t, web.Config{}, media.Config{}, func(d *web.Deps) {
		d.Disk = func() web.DiskUsage { return web.DiskUsage{DB: 2_500_000, Index: 40_000, Media: 7_000_000} }
	})
	ts.admin("boss")
	v := ts.visitor()
	v.get("/login")
	if r := v.post("/login", url.Values{"username": {"boss"}, "password": {"correct horse"}}, false); r.status != 303 {
		t.Fatalf("admin login: %d", r.status)
	}
	r := v.get("/admin")
	if r.status != 200 {
		t.Fatalf("/admin: %d %s", r.status, r.body)
	}
	for _, want := range []string{
		`<b>Database</b> <span class="muted">now 2.5 MB`,
		`<b>Search index</b> <span class="muted">now 40 KB`,
		`<b>Photos</b> <span class="muted">now 7.0 MB`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("the dashboard before the first sample lacks %q", want)
		}
	}
}
