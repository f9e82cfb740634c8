package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Status is the cluster as its buckets and streams describe it.
type Status struct {
	Nodes      []NodeStatus      `json:"nodes"`
	Partitions []PartitionStatus `json:"partitions"`
}

// NodeStatus is one node: whether it is ready, how old its heartbeat is,
// and what it owns.
type NodeStatus struct {
	Name      string  `json:"name"`
	Ready     bool    `json:"ready"`
	Heartbeat float64 `json:"heartbeat_age_s"`
	Owned     []int   `json:"owned"`
}

// PartitionStatus is one partition: its owner and lease age, its log's
// size and leader, and how far each node's replica is behind the log.
type PartitionStatus struct {
	Partition int            `json:"partition"`
	Owner     string         `json:"owner"`
	LeaseAge  float64        `json:"lease_age_s"`
	Entries   uint64         `json:"entries"`
	Bytes     uint64         `json:"bytes"`
	Leader    string         `json:"log_leader"`
	Replicas  []string       `json:"log_replicas"`
	Lag       map[string]int `json:"lag"` // node → entries behind the log
}

// ReadStatus reads the cluster's status from its buckets and streams.
func ReadStatus(ctx context.Context, js jetstream.JetStream) (*Status, error) {
	meta, err := js.KeyValue(ctx, bucketMeta)
	if err != nil {
		return nil, fmt.Errorf("cluster: not initialised (%w)", err)
	}
	e, err := meta.Get(ctx, "cluster")
	if err != nil {
		return nil, fmt.Errorf("cluster: not initialised (%w)", err)
	}
	var m clusterMeta
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return nil, err
	}
	st := &Status{}
	now := time.Now()
	applied := map[string][]uint64{}
	if nodes, err := js.KeyValue(ctx, bucketNodes); err == nil {
		if keys, err := nodes.ListKeys(ctx); err == nil {
			for k := range keys.Keys() {
				e, err := nodes.Get(ctx, k)
				if err != nil {
					continue
				}
				var hb heartbeat
				json.Unmarshal(e.Value(), &hb)
				st.Nodes = append(st.Nodes, NodeStatus{Name: k, Ready: hb.Ready, Heartbeat: now.Sub(e.Created()).Seconds(), Owned: hb.Owned})
				applied[k] = hb.Applied
			}
			keys.Stop()
		}
	}
	slices.SortFunc(st.Nodes, func(a, b NodeStatus) int { return strings.Compare(a.Name, b.Name) })
	leases, _ := js.KeyValue(ctx, bucketLeases)
	for p := range m.Partitions {
		ps := PartitionStatus{Partition: p, Lag: map[string]int{}}
		if leases != nil {
			if e, err := leases.Get(ctx, "p."+strconv.Itoa(p)); err == nil {
				var l lease
				json.Unmarshal(e.Value(), &l)
				ps.Owner, ps.LeaseAge = l.Node, now.Sub(e.Created()).Seconds()
			}
		}
		if s, err := js.Stream(ctx, streamName(p)); err == nil {
			if info, err := s.Info(ctx); err == nil {
				ps.Entries, ps.Bytes = info.State.LastSeq, info.State.Bytes
				if info.Cluster != nil {
					ps.Leader = info.Cluster.Leader
					ps.Replicas = append(ps.Replicas, info.Cluster.Leader)
					for _, r := range info.Cluster.Replicas {
						ps.Replicas = append(ps.Replicas, r.Name)
					}
				}
			}
		}
		for node, a := range applied {
			if p < len(a) {
				ps.Lag[node] = int(ps.Entries) - int(a[p])
			}
		}
		st.Partitions = append(st.Partitions, ps)
	}
	return st, nil
}

// Print writes the status as two tables.
func (s *Status) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tREADY\tHEARTBEAT\tOWNS")
	for _, n := range s.Nodes {
		fmt.Fprintf(tw, "%s\t%v\t%.1fs ago\t%d partitions\n", n.Name, n.Ready, n.Heartbeat, len(n.Owned))
	}
	fmt.Fprintln(tw, "")
	fmt.Fprintln(tw, "PARTITION\tOWNER\tLEASE\tENTRIES\tLOG LEADER\tLAG")
	for _, p := range s.Partitions {
		var lag []string
		for n, l := range p.Lag {
			lag = append(lag, fmt.Sprintf("%s:%d", n, l))
		}
		slices.Sort(lag)
		fmt.Fprintf(tw, "%d\t%s\t%.1fs\t%d\t%s\t%s\n", p.Partition, p.Owner, p.LeaseAge, p.Entries, p.Leader, strings.Join(lag, " "))
	}
	tw.Flush()
}

// ReadLogs returns every partition's log, entry by entry (for tests that
// compare replicas with a fresh replay, and for inspection).
func ReadLogs(ctx context.Context, js jetstream.JetStream) (map[int][][]byte, error) {
	st, err := ReadStatus(ctx, js)
	if err != nil {
		return nil, err
	}
	out := map[int][][]byte{}
	for _, p := range st.Partitions {
		s, err := js.Stream(ctx, streamName(p.Partition))
		if err != nil {
			return nil, err
		}
		for seq := uint64(1); seq <= p.Entries; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				return nil, fmt.Errorf("partition %d entry %d: %w", p.Partition, seq, err)
			}
			out[p.Partition] = append(out[p.Partition], m.Data)
		}
	}
	return out, nil
}
