package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"aperture/alerts"
	"aperture/store"
)

// ClusterStatus reads the state of the cluster this node belongs to, for
// /admin/cluster, its JSON twin and the cluster metrics. cmd/aperture
// supplies one on a clustered node (Deps.Cluster); a single node has none,
// and then shows no cluster section at all. A read may be slow (it asks
// the cluster's buckets and logs), so the web layer keeps each answer for
// clusterCacheFor.
type ClusterStatus interface {
	ClusterStatus(ctx context.Context) (*ClusterView, error)
}

// ClusterView is the cluster as one node reads it. Its JSON is that of
// aperture cluster status --json, with the answering node and the time.
type ClusterView struct {
	Node       string                 `json:"node" doc:"The node that read the status (the one answering)"`
	ReadAt     time.Time              `json:"read_at" doc:"When it was read (kept for up to 2 seconds)"`
	Nodes      []ClusterNodeView      `json:"nodes"`
	Partitions []ClusterPartitionView `json:"partitions"`
}

// ClusterNodeView is one node of the cluster.
type ClusterNodeView struct {
	Name         string  `json:"name"`
	Ready        bool    `json:"ready" doc:"The node says it is ready, and its heartbeat is younger than a lease"`
	HeartbeatAge float64 `json:"heartbeat_age_s" doc:"Seconds since its last heartbeat"`
	Owned        []int   `json:"owned" doc:"The partitions it owns, as its heartbeat says"`
}

// ClusterPartitionView is one partition: its owner, its lease, its log
// and how far behind the log each node's replica is.
type ClusterPartitionView struct {
	Partition int            `json:"partition"`
	Owner     string         `json:"owner" doc:"The node holding the partition's lease; empty when none does"`
	LeaseAge  float64        `json:"lease_age_s" doc:"Seconds since the lease was last taken or renewed"`
	Entries   uint64         `json:"entries" doc:"Entries in the partition's log"`
	Bytes     uint64         `json:"bytes" doc:"The log's size in bytes"`
	Leader    string         `json:"log_leader" doc:"The node leading the log's replication"`
	Replicas  []string       `json:"log_replicas" doc:"The nodes keeping a copy of the log"`
	Lag       map[string]int `json:"lag" doc:"Per node: entries its replica has yet to apply"`
}

// clusterCacheFor is how long a read of the cluster's status is kept: the
// metrics and the admin pages together ask at most this often.
const clusterCacheFor = 2 * time.Second

// clusterReadTimeout bounds one read of the cluster's status.
const clusterReadTimeout = 5 * time.Second

// clusterCache keeps the last read of the cluster's status (or its
// failure) for clusterCacheFor; callers arriving during a read wait for
// it rather than start their own.
type clusterCache struct {
	src ClusterStatus
	mu  sync.Mutex
	at  time.Time
	v   *ClusterView
	err error
}

// get returns the cluster's status, read at most clusterCacheFor ago.
func (c *clusterCache) get(ctx context.Context) (*ClusterView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < clusterCacheFor {
		return c.v, c.err
	}
	// Detached from the caller: a client that goes away must not leave a
	// cancelled read in the cache for the others.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clusterReadTimeout)
	defer cancel()
	c.v, c.err = c.src.ClusterStatus(rctx)
	c.at = time.Now()
	return c.v, c.err
}

type clusterOutput struct{ Body *ClusterView }

func (s *Server) registerCluster(api huma.API) {
	huma.Register(api, s.op(huma.Operation{OperationID: "admin-cluster", Method: http.MethodGet, Path: "/api/v1/admin/cluster",
		Tags: []string{"admin"}, Summary: "The cluster: its nodes and partitions",
		Description: "Each node with its heartbeat and partitions; each partition with its owner, lease age, log size and every replica's lag. " +
			"Read at most every 2 seconds. 404 on a server that is not a node of a cluster.",
		Security: bearer, Errors: []int{401, 403, 404, 503}}), s.adminCluster)
}

// adminCluster answers GET /api/v1/admin/cluster and the cluster page.
func (s *Server) adminCluster(ctx context.Context, _ *struct{}) (*clusterOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	if s.cluster == nil {
		return nil, store.Errorf(store.ErrNotFound, "This server runs alone, not as a node of a cluster.")
	}
	v, err := s.cluster.get(ctx)
	if err != nil {
		s.log.Warn("read the cluster's status", "error", err)
		return nil, store.Errorf(store.ErrUnavailable, "The cluster's status could not be read just now; try again in a moment.")
	}
	return &clusterOutput{Body: v}, nil
}

// clusterRow is one partition as the cluster page shows it.
type clusterRow struct {
	Partition int
	Owner     string
	Lease     string
	Entries   uint64
	Size      string
	Lag       string
	Behind    bool // some replica has entries to apply
}

func (s *Server) adminClusterPage(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminCluster(ctx, nil)
	if err != nil {
		return err
	}
	v := out.Body
	rows := make([]clusterRow, 0, len(v.Partitions))
	for _, p := range v.Partitions {
		r := clusterRow{Partition: p.Partition, Owner: p.Owner, Lease: fmt.Sprintf("%.1f s", p.LeaseAge), Entries: p.Entries,
			Size: human(float64(p.Bytes), "bytes")}
		nodes := make([]string, 0, len(p.Lag))
		for n := range p.Lag {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		lags := make([]string, 0, len(nodes))
		for _, n := range nodes {
			lags = append(lags, fmt.Sprintf("%s %d", n, p.Lag[n]))
			r.Behind = r.Behind || p.Lag[n] > 0
		}
		r.Lag = strings.Join(lags, " · ")
		rows = append(rows, r)
	}
	return s.adminPage(c, "Admin · cluster", "cluster", map[string]any{"View": v, "Rows": rows})
}

// clusterCollector exports the cluster's state as this node reads it:
// what it owns, its replicas' lag, the partitions' lease ages and how
// many nodes are ready. A scrape reads the status once (or takes the
// cached read); a failed read exports none of these.
type clusterCollector struct {
	cache                                 *clusterCache
	owned, lag, lease, up, nodes, unowned *prometheus.Desc
	log                                   *slog.Logger
}

func newClusterCollector(cache *clusterCache, log *slog.Logger) *clusterCollector {
	return &clusterCollector{cache: cache, log: log,
		owned: prometheus.NewDesc("aperture_cluster_partitions_owned", "Partitions whose lease this node holds.", nil, nil),
		lag: prometheus.NewDesc("aperture_cluster_replica_lag", "Entries of the partition's log this node's replica has yet to apply.",
			[]string{"partition"}, nil),
		lease: prometheus.NewDesc("aperture_cluster_lease_age_seconds", "Seconds since the partition's lease was last taken or renewed.",
			[]string{"partition"}, nil),
		up:      prometheus.NewDesc("aperture_cluster_nodes_ready", "Nodes that say they are ready and whose heartbeat is younger than a lease.", nil, nil),
		nodes:   prometheus.NewDesc("aperture_cluster_nodes", "Nodes the cluster knows, ready or not.", nil, nil),
		unowned: prometheus.NewDesc("aperture_cluster_partitions_unowned", "Partitions whose lease no node holds.", nil, nil),
	}
}

// Describe sends the collector's descriptions (prometheus.Collector).
func (cc *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cc.owned
	ch <- cc.lag
	ch <- cc.lease
	ch <- cc.up
	ch <- cc.nodes
	ch <- cc.unowned
}

// Collect sends the cluster's gauges (prometheus.Collector).
func (cc *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	v, err := cc.cache.get(context.Background())
	if err != nil {
		cc.log.Warn("read the cluster's status for the metrics", "error", err)
		return
	}
	owned, ready := 0, 0
	for _, n := range v.Nodes {
		if n.Ready {
			ready++
		}
	}
	for _, p := range v.Partitions {
		part := fmt.Sprint(p.Partition)
		if p.Owner == v.Node {
			owned++
		}
		if lag, ok := p.Lag[v.Node]; ok {
			ch <- prometheus.MustNewConstMetric(cc.lag, prometheus.GaugeValue, float64(lag), part)
		}
		if p.Owner != "" {
			ch <- prometheus.MustNewConstMetric(cc.lease, prometheus.GaugeValue, p.LeaseAge, part)
		}
	}
	ch <- prometheus.MustNewConstMetric(cc.owned, prometheus.GaugeValue, float64(owned))
	ch <- prometheus.MustNewConstMetric(cc.up, prometheus.GaugeValue, float64(ready))
	ch <- prometheus.MustNewConstMetric(cc.nodes, prometheus.GaugeValue, float64(len(v.Nodes)))
	ch <- prometheus.MustNewConstMetric(cc.unowned, prometheus.GaugeValue, float64(clusterHealth(v).Unowned))
}

// clusterHealth is what the cluster's alert rules read from a view: the
// nodes not ready, the partitions without an owner, and the largest lag
// of any node's replica.
func clusterHealth(v *ClusterView) alerts.ClusterHealth {
	var h alerts.ClusterHealth
	for _, n := range v.Nodes {
		if !n.Ready {
			h.Unreachable++
		}
	}
	for _, p := range v.Partitions {
		if p.Owner == "" {
			h.Unowned++
		}
		for _, lag := range p.Lag {
			h.MaxLag = max(h.MaxLag, lag)
		}
	}
	return h
}
