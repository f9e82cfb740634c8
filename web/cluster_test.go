package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"aperture/media"
	"aperture/web"
)

// fakeCluster is a ClusterStatus that answers a fixed view (or fails),
// counting its reads.
type fakeCluster struct {
	mu    sync.Mutex
	reads int
	view  web.ClusterView
	err   error
}

func (f *fakeCluster) ClusterStatus(context.Context) (*web.ClusterView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	v := f.view
	v.ReadAt = time.Now()
	return &v, nil
}

func (f *fakeCluster) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// threeNodes is a cluster of three nodes and four partitions as node2
// reads it: node3 has stopped (its heartbeat is old), partition 3 has no
// owner, and node1's replica of partition 1 is 7 entries behind.
func threeNodes() web.ClusterView {
	return web.ClusterView{Node: "node2",
		Nodes: []web.ClusterNodeView{
			{Name: "node1", Ready: true, HeartbeatAge: 0.3, Owned: []int{0, 1}},
			{Name: "node2", Ready: true, HeartbeatAge: 0.1, Owned: []int{2}},
			{Name: "node3", Ready: false, HeartbeatAge: 41.5, Owned: []int{3}},
		},
		Partitions: []web.ClusterPartitionView{
			{Partition: 0, Owner: "node1", LeaseAge: 0.4, Entries: 120, Bytes: 48_000, Leader: "node1", Lag: map[string]int{"node1": 0, "node2": 0}},
			{Partition: 1, Owner: "node1", LeaseAge: 0.2, Entries: 95, Bytes: 2_500_000, Leader: "node2", Lag: map[string]int{"node1": 7, "node2": 0}},
			{Partition: 2, Owner: "node2", LeaseAge: 0.1, Entries: 30, Bytes: 9_000, Leader: "node2", Lag: map[string]int{"node1": 0, "node2": 3}},
			{Partition: 3, Owner: "", Entries: 12, Bytes: 1_000, Leader: "node1", Lag: map[string]int{"node1": 0, "node2": 0}},
		}}
}

func newClusterServer(t *testing.T, f *fakeCluster) *testServer {
	t.Helper()
	return newServerDeps(t, web.Config{}, media.Config{}, func(d *web.Deps) { d.Cluster = f })
}

// loggedIn is a visitor logged in through the form as name (whose
// password is "correct horse", as ts.admin makes it).
func (ts *testServer) loggedIn(name string) *visitor {
	ts.t.Helper()
	v := ts.visitor()
	v.get("/login")
	if r := v.post("/login", url.Values{"username": {name}, "password": {"correct horse"}}, false); r.status != http.StatusSeeOther {
		ts.t.Fatalf("log-in form as %s: %d", name, r.status)
	}
	return v
}

// TestAdminCluster: on a node of a cluster the admin pages have a
// Cluster tab with the nodes and the partitions (owner, lease age, log
// size and every replica's lag), the API has its JSON twin, both refuse
// anyone but an administrator, and the status is read at most once in
// two seconds however many ask.
func TestAdminCluster(t *testing.T) {
	f := &fakeCluster{view: threeNodes()}
	ts := newClusterServer(t, f)
	adm := ts.admin("boss")
	v := ts.loggedIn("boss")

	for _, path := range []string{"/admin", "/admin/users", "/admin/settings"} {
		if r := v.get(path); r.status != 200 || !strings.Contains(string(r.body), `<a href="/admin/cluster"`) {
			t.Fatalf("%s: %d, no Cluster tab", path, r.status)
		}
	}
	r := v.get("/admin/cluster")
	if r.status != 200 {
		t.Fatalf("cluster page: %d %s", r.status, r.body)
	}
	page := string(r.body)
	for _, want := range []string{
		`<a href="/admin/cluster" class="on">Cluster</a>`, "As node <b>node2</b>",
		"<b>node2</b> <span class=\"muted\">(this node)</span>", "<b>not ready</b>", "41.5 s ago",
		"<td>1</td><td>node1</td><td>0.2 s</td><td>95 entries · 2.5 MB</td><td><b>node1 7 · node2 0</b></td>",
		"<td>0</td><td>node1</td><td>0.4 s</td><td>120 entries · 48 KB</td><td>node1 0 · node2 0</td>",
		"<td>3</td><td><b>none</b></td><td>–</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the cluster page lacks %s", want)
		}
	}

	r = ts.do("GET", "/api/v1/admin/cluster", adm, nil)
	if r.status != 200 {
		t.Fatalf("cluster API: %d %s", r.status, r.body)
	}
	var got web.ClusterView
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Node != "node2" || len(got.Nodes) != 3 || len(got.Partitions) != 4 || got.Partitions[1].Lag["node1"] != 7 ||
		got.Partitions[1].Bytes != 2_500_000 || got.Nodes[0].HeartbeatAge != 0.3 || got.ReadAt.IsZero() {
		t.Fatalf("cluster API: %s", r.body)
	}
	for _, field := range []string{`"heartbeat_age_s":`, `"lease_age_s":`, `"log_leader":`, `"lag":{`, `"owned":[0,1]`} {
		if !strings.Contains(string(r.body), field) {
			t.Errorf("the JSON lacks %s: %s", field, r.body)
		}
	}

	// Everyone else is refused, as on the other admin routes.
	plain, _ := ts.signup("plain")
	wantProblem(t, ts.do("GET", "/api/v1/admin/cluster", plain, nil), http.StatusForbidden)
	wantProblem(t, ts.do("GET", "/api/v1/admin/cluster", "", nil), http.StatusUnauthorized)
	pv := ts.visitor()
	pv.signup("plainweb")
	if r := pv.get("/admin/cluster"); r.status != http.StatusForbidden || strings.Contains(string(r.body), "node2") {
		t.Fatalf("the cluster page as a non-admin: %d", r.status)
	}
	if r := pv.get("/admin"); strings.Contains(string(r.body), "/admin/cluster") {
		t.Fatal("a non-admin sees the Cluster tab")
	}
	if r := ts.visitor().get("/admin/cluster"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("the cluster page signed out: %d %s", r.status, r.header.Get("Location"))
	}

	// All of that, and a scrape, read the cluster once.
	m := ts.get("/metrics", "", nil)
	if n := f.count(); n != 1 {
		t.Fatalf("the status was read %d times in two seconds", n)
	}
	metrics := string(m.body)
	for _, want := range []string{
		"aperture_cluster_partitions_owned 1\n",
		"aperture_cluster_nodes_ready 2\n",
		`aperture_cluster_replica_lag{partition="2"} 3` + "\n",
		`aperture_cluster_replica_lag{partition="0"} 0` + "\n",
		`aperture_cluster_lease_age_seconds{partition="1"} 0.2` + "\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, `aperture_cluster_lease_age_seconds{partition="3"}`) {
		t.Error("a partition without a lease has a lease age")
	}
	time.Sleep(2100 * time.Millisecond)
	ts.get("/metrics", "", nil)
	if n := f.count(); n != 2 {
		t.Fatalf("after two seconds the status was read %d times in all, want 2", n)
	}
}

// TestAdminClusterUnreadable: a status that cannot be read is a 503 with
// a sentence (the cause in the log), and the scrape goes on without the
// cluster's gauges.
func TestAdminClusterUnreadable(t *testing.T) {
	f := &fakeCluster{err: errors.New("nats: timeout")}
	ts := newClusterServer(t, f)
	adm := ts.admin("boss")
	wantProblem(t, ts.do("GET", "/api/v1/admin/cluster", adm, nil), http.StatusServiceUnavailable)
	if !strings.Contains(ts.log.String(), "nats: timeout") {
		t.Error("the cause is not in the log")
	}
	m := ts.get("/metrics", "", nil)
	if m.status != 200 || strings.Contains(string(m.body), "aperture_cluster_") || !strings.Contains(string(m.body), "aperture_http_requests_total") {
		t.Fatalf("metrics with an unreadable cluster: %d %.300s", m.status, m.body)
	}
}

// TestAdminSingleNodeHasNoCluster: a server that is not a node of a
// cluster has no Cluster tab, its cluster page and API answer 404 (to
// its administrators; 403 to others, as every admin route), and it
// exports no cluster metrics.
func TestAdminSingleNodeHasNoCluster(t *testing.T) {
	ts := newServer(t, web.Config{})
	adm := ts.admin("boss")
	v := ts.loggedIn("boss")
	for _, path := range []string{"/admin", "/admin/users", "/admin/reports", "/admin/jobs", "/admin/settings"} {
		r := v.get(path)
		if r.status != 200 || strings.Contains(string(r.body), "/admin/cluster") || strings.Contains(string(r.body), ">Cluster<") {
			t.Fatalf("%s on a single node: %d, or it shows a Cluster tab", path, r.status)
		}
	}
	if r := v.get("/admin/cluster"); r.status != http.StatusNotFound {
		t.Fatalf("the cluster page on a single node: %d", r.status)
	}
	wantProblem(t, ts.do("GET", "/api/v1/admin/cluster", adm, nil), http.StatusNotFound)
	plain, _ := ts.signup("plain")
	wantProblem(t, ts.do("GET", "/api/v1/admin/cluster", plain, nil), http.StatusForbidden)
	if m := ts.get("/metrics", "", nil); strings.Contains(string(m.body), "aperture_cluster_") {
		t.Fatal("a single node exports cluster metrics")
	}
}
