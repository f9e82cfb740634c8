package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"aperture/cluster"
	"aperture/web"
)

// clusterWeb gives the web layer, on a node of a cluster, what it takes
// from the cluster: the status behind /admin/cluster and the cluster
// metrics, and the per-account rate limits kept by each account's
// partition owner (see cluster.Limits). On a single node it leaves d as
// it is: no cluster section, and the limits counted in this process.
func (m *Main) clusterWeb(cfg web.Config, d *web.Deps) {
	if m.node == nil {
		return
	}
	d.Cluster = clusterStatus{m.node.n}
	m.node.limits = m.node.parts.Limits(m.st, web.NewAccountLimiter(cfg))
	d.Accounts = m.node.limits
	lim := m.node.limits
	d.Metrics.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aperture_cluster_rate_limit_fallbacks_total",
		Help: "Per-account rate-limit takes counted on this node because the account's partition owner did not answer in time."},
		func() float64 { return float64(lim.Fallbacks()) }))
}

// clusterStatus reads the cluster's status for the web layer.
type clusterStatus struct{ n *cluster.Node }

// ClusterStatus returns the cluster's status as this node reads it. A
// node counts as ready when it says so and its heartbeat is younger than
// a lease (a node killed without a word keeps its last heartbeat).
func (c clusterStatus) ClusterStatus(ctx context.Context) (*web.ClusterView, error) {
	st, err := c.n.Status(ctx)
	if err != nil {
		return nil, err
	}
	ttl := c.n.LeaseTTL().Seconds()
	v := &web.ClusterView{Node: c.n.Name(), ReadAt: time.Now(), Nodes: []web.ClusterNodeView{}, Partitions: []web.ClusterPartitionView{}}
	for _, n := range st.Nodes {
		v.Nodes = append(v.Nodes, web.ClusterNodeView{Name: n.Name, Ready: n.Ready && n.Heartbeat < ttl, HeartbeatAge: n.Heartbeat,
			Owned: append([]int{}, n.Owned...)})
	}
	for _, p := range st.Partitions {
		v.Partitions = append(v.Partitions, web.ClusterPartitionView{Partition: p.Partition, Owner: p.Owner, LeaseAge: p.LeaseAge,
			Entries: p.Entries, Bytes: p.Bytes, Leader: p.Leader, Replicas: append([]string{}, p.Replicas...), Lag: p.Lag})
	}
	return v, nil
}
