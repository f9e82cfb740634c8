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

// statusStep bounds each request of ReadStatus: one bucket or stream
// whose leader just went away answers nothing until JetStream elects
// another, and the rest of the status is worth showing meanwhile.
const statusStep = 3 * time.Second

// heartbeatStale is the age from which a node's heartbeat shows it gone:
// a node writes one every half second.
const heartbeatStale = 5 * time.Second

// ReadStatus reads the cluster's status from its buckets and streams.
// What does not answer within a few seconds is left out (a partition
// without owner or log size; a node's lag unknown). It returns an error
// only when the cluster's description itself cannot be read.
func ReadStatus(ctx context.Context, js jetstream.JetStream) (*Status, error) {
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, statusStep) }
	c, cancel := step()
	defer cancel()
	meta, err := js.KeyValue(c, bucketMeta)
	if err != nil {
		return nil, fmt.Errorf("cluster: not initialised, or not reachable (%w)", err)
	}
	e, err := meta.Get(c, "cluster")
	if err != nil {
		return nil, fmt.Errorf("cluster: not initialised, or not reachable (%w)", err)
	}
	var m clusterMeta
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return nil, err
	}
	st := &Status{}
	now := time.Now()
	age := func(t time.Time) float64 { return max(0, now.Sub(t).Seconds()) } // clocks differ a little
	applied := map[string][]uint64{}
	c, cancel = step()
	defer cancel()
	if nodes, err := js.KeyValue(c, bucketNodes); err == nil {
		if keys, err := nodes.ListKeys(c); err == nil {
			for k := range keys.Keys() {
				e, err := nodes.Get(c, k)
				if err != nil {
					continue
				}
				var hb heartbeat
				json.Unmarshal(e.Value(), &hb)
				ns := NodeStatus{Name: k, Heartbeat: age(e.Created()), Owned: hb.Owned}
				ns.Ready = hb.Ready && ns.Heartbeat < heartbeatStale.Seconds()
				st.Nodes = append(st.Nodes, ns)
				applied[k] = hb.Applied
			}
			keys.Stop()
		}
	}
	slices.SortFunc(st.Nodes, func(a, b NodeStatus) int { return strings.Compare(a.Name, b.Name) })
	c, cancel = step()
	defer cancel()
	leases, _ := js.KeyValue(c, bucketLeases)
	for p := range m.Partitions {
		ps := PartitionStatus{Partition: p, Lag: map[string]int{}}
		known := false // the log's size
		c, cancel := step()
		if leases != nil {
			if e, err := leases.Get(c, "p."+strconv.Itoa(p)); err == nil {
				var l lease
				json.Unmarshal(e.Value(), &l)
				ps.Owner, ps.LeaseAge = l.Node, age(e.Created())
			}
		}
		if s, err := js.Stream(c, streamName(p)); err == nil {
			if info, err := s.Info(c); err == nil {
				known = true
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
		cancel()
		for node, a := range applied {
			if p < len(a) && known {
				ps.Lag[node] = max(0, int(ps.Entries)-int(a[p]))
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

// Logged is one entry of a partition's log, with the node that wrote it
// and its lease's term (see HeaderWriter).
type Logged struct {
	Data   []byte
	Writer string
	Term   uint64
}

// ReadLogs returns every partition's log, entry by entry (for tests that
// compare replicas with a fresh replay or check the writers' terms, and
// for inspection).
func ReadLogs(ctx context.Context, js jetstream.JetStream) (map[int][]Logged, error) {
	st, err := ReadStatus(ctx, js)
	if err != nil {
		return nil, err
	}
	out := map[int][]Logged{}
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
			l := Logged{Data: m.Data}
			name, term, _ := strings.Cut(m.Header.Get(HeaderWriter), " ")
			l.Writer = name
			l.Term, _ = strconv.ParseUint(term, 10, 64)
			out[p.Partition] = append(out[p.Partition], l)
		}
	}
	return out, nil
}
