package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"aperture/store"
)

// Partitions runs this node's part in every partition: it applies the
// logs of the partitions it does not own, holds leases on the ones it
// owns (and applies their fresh commands, publishing each group commit to
// the log), forwards commands to owners, and moves ownership when nodes
// come and go. It is the store's Router and LogSink.
type Partitions struct {
	n       *Node
	st      *store.Store
	parts   int
	owned   []atomic.Bool
	leases  jetstream.KeyValue
	nodes   jetstream.KeyValue
	streams []jetstream.Stream

	state  []*partState
	seen   sync.Map // key → seen: revisions of leases and heartbeats
	ready  atomic.Bool
	kick   chan struct{}
	ctx    context.Context // ends with Leave
	stop   context.CancelFunc
	done   sync.WaitGroup
	leaseN atomic.Int64 // leases taken since start, for status
}

// partState is what the node does for one partition.
type partState struct {
	mu          sync.Mutex
	owner       string    // the lease holder as last seen
	rev         uint64    // the lease's revision as last seen
	seenAt      time.Time // when rev last changed, on this node's clock
	mine        bool      // this node holds the lease
	acquiredAt  time.Time
	stopApply   context.CancelFunc
	applyDone   chan struct{}
	sub         *nats.Subscription
	behind      atomic.Bool  // a publish failed: catch up before taking writes
	renewed     atomic.Int64 // when the lease was last taken or renewed (unix ns)
	streamLast  atomic.Uint64
	lastApplyAt atomic.Int64
}

func (ps *partState) renewedAt() time.Time { return time.Unix(0, ps.renewed.Load()) }

// lease is a partition lease's value.
type lease struct {
	Node string `json:"node"`
	At   int64  `json:"at"` // when taken or renewed (ms, the holder's clock; for people)
}

// heartbeat is a node's value in the nodes bucket.
type heartbeat struct {
	At      int64    `json:"at"`
	Ready   bool     `json:"ready"`   // its store is open and its apply loops run
	Applied []uint64 `json:"applied"` // each partition's lastApplied here
	Owned   []int    `json:"owned"`   // the partitions it owns
}

// NewPartitions prepares a node's partitions for a store of parts
// partitions; Attach starts them once the store is open (the store needs
// them as its Router and LogSink when it opens).
func (n *Node) NewPartitions(ctx context.Context, parts int) (*Partitions, error) {
	p := &Partitions{n: n, parts: parts, owned: make([]atomic.Bool, parts), kick: make(chan struct{}, 1)}
	var err error
	if p.leases, err = n.js.KeyValue(ctx, bucketLeases); err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", bucketLeases, err)
	}
	if p.nodes, err = n.js.KeyValue(ctx, bucketNodes); err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", bucketNodes, err)
	}
	for i := range parts {
		s, err := n.js.Stream(ctx, streamName(i))
		if err != nil {
			return nil, fmt.Errorf("cluster: the log of partition %d: %w", i, err)
		}
		p.streams = append(p.streams, s)
		p.state = append(p.state, &partState{})
	}
	return p, nil
}

// Attach starts the node's work on the open store: an apply loop for
// every partition, then the lease manager, the command handlers and the
// heartbeat.
func (p *Partitions) Attach(st *store.Store) {
	p.st = st
	ctx, cancel := context.WithCancel(context.Background())
	p.ctx, p.stop = ctx, cancel
	// Catch up with every log before taking part: a node that was away
	// owns nothing until its replicas are current.
	for i := range p.parts {
		for attempt := 0; ; attempt++ {
			err := p.replayToEnd(ctx, i)
			if err == nil {
				break
			}
			p.n.log.Warn("catching up", "partition", i, "error", err)
			time.Sleep(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond)
		}
		p.startApply(i)
	}
	p.ready.Store(true)
	p.done.Add(2)
	go p.manage(ctx)
	go p.watchLeases(ctx)
}

// Owns reports whether this node applies fresh commands of part.
func (p *Partitions) Owns(part int) bool {
	return part >= 0 && part < p.parts && p.owned[part].Load()
}

// Append publishes a partition's log entry, expecting the log to end just
// before it: a node that lost its lease (its successor wrote meanwhile)
// is refused by JetStream itself. Any failure fails the group commit
// with store.ErrNotOwner, and the partition catches up with its log
// before it takes writes again.
func (p *Partitions) Append(part int, seq uint64, entry []byte) error {
	ps := p.state[part]
	if !p.Owns(part) || ps.behind.Load() {
		return store.ErrNotOwner
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := p.n.js.Publish(ctx, subjectLog+strconv.Itoa(part), entry,
		jetstream.WithExpectLastSequence(seq-1), jetstream.WithMsgID(msgID(part, seq, entry)))
	if err == nil && ack.Sequence != seq {
		err = fmt.Errorf("the log put entry %d at %d", seq, ack.Sequence)
	}
	if err != nil {
		p.n.log.Warn("log append refused; catching up", "partition", part, "seq", seq, "error", err)
		ps.behind.Store(true)
		go p.catchUp(part)
		return fmt.Errorf("%w (%v)", store.ErrNotOwner, err)
	}
	ps.streamLast.Store(seq)
	return nil
}

// msgID names an entry for JetStream's duplicate window: a retry of the
// same publish is one message, a different entry at the same place is
// refused by the expected sequence.
func msgID(part int, seq uint64, entry []byte) string {
	return fmt.Sprintf("p%d-%d-%x", part, seq, fnv64(entry))
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// catchUp replays what the log holds beyond this node's replica of part,
// then lets the partition take writes again.
func (p *Partitions) catchUp(part int) {
	ps := p.state[part]
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for attempt := 0; p.ctx.Err() == nil; attempt++ {
		if err := p.replayToEnd(p.ctx, part); err != nil {
			p.n.log.Warn("catch-up", "partition", part, "error", err)
			time.Sleep(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond)
			continue
		}
		ps.behind.Store(false)
		return
	}
}

// replayToEnd applies the entries of part's log that this replica lacks,
// up to the log's end as JetStream reports it.
func (p *Partitions) replayToEnd(ctx context.Context, part int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The log's end as its leader knows it (a replica could be behind,
	// and an owner must have everything before it answers reads); the
	// entries themselves may come from any replica (direct gets).
	info, err := p.streams[part].Info(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	p.state[part].streamLast.Store(last)
	applied, err := p.st.LastApplied(part)
	if err != nil {
		return err
	}
	for seq := applied + 1; seq <= last; seq++ {
		m, err := p.streams[part].GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("entry %d: %w", seq, err)
		}
		if err := p.st.Replay(part, m.Data); err != nil {
			return fmt.Errorf("entry %d: %w", seq, err)
		}
	}
	return nil
}

// startApply starts the loop that applies part's log from the entry
// after this replica's lastApplied, until stopApply.
func (p *Partitions) startApply(part int) {
	ps := p.state[part]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ps.stopApply, ps.applyDone = cancel, done
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := p.apply(ctx, part); err != nil && ctx.Err() == nil {
				p.n.log.Warn("apply loop", "partition", part, "error", err)
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}
	}()
}

// stopApplying stops part's apply loop and waits for it.
func (p *Partitions) stopApplying(part int) {
	ps := p.state[part]
	if ps.stopApply != nil {
		ps.stopApply()
		<-ps.applyDone
		ps.stopApply = nil
	}
}

// apply consumes part's log in order from this replica's next entry.
func (p *Partitions) apply(ctx context.Context, part int) error {
	applied, err := p.st.LastApplied(part)
	if err != nil {
		return err
	}
	c, err := p.n.js.OrderedConsumer(ctx, streamName(part), jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: applied + 1})
	if err != nil {
		return err
	}
	it, err := c.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	go func() { <-ctx.Done(); it.Stop() }()
	ps := p.state[part]
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return err
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		if err := p.st.Replay(part, m.Data()); err != nil {
			return fmt.Errorf("entry %d: %w", meta.Sequence.Stream, err)
		}
		ps.streamLast.Store(meta.Sequence.Stream + meta.NumPending)
		ps.lastApplyAt.Store(time.Now().UnixMilli())
	}
}

// become makes this node the owner of part, whose lease it just took:
// its apply loop stops, it catches up with the log, and it takes
// commands.
func (p *Partitions) become(ctx context.Context, part int) {
	ps := p.state[part]
	p.stopApplying(part)
	ps.mu.Lock()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if err := p.replayToEnd(ctx, part); err == nil {
			break
		} else {
			p.n.log.Warn("catching up to own a partition", "partition", part, "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond):
		}
	}
	if ctx.Err() != nil {
		ps.mu.Unlock()
		p.startApply(part)
		return
	}
	ps.behind.Store(false)
	ps.mine, ps.acquiredAt = true, time.Now()
	ps.mu.Unlock()
	sub, err := p.n.nc.QueueSubscribe(subjectExec+strconv.Itoa(part), "owners", func(m *nats.Msg) { p.serve(part, m) })
	if err != nil {
		p.n.log.Error("take commands", "partition", part, "error", err)
	}
	ps.sub = sub
	p.owned[part].Store(true)
	p.leaseN.Add(1)
	p.n.log.Info("owning partition", "partition", part)
	go func() {
		if err := p.st.ApplyConfig(context.Background()); err != nil {
			p.n.log.Warn("configure partitions", "error", err)
		}
	}()
}

// release stops owning part: it takes no more commands and applies the
// log again.
func (p *Partitions) release(part int) {
	ps := p.state[part]
	if !p.owned[part].Load() {
		return
	}
	p.owned[part].Store(false)
	if ps.sub != nil {
		ps.sub.Unsubscribe()
		ps.sub = nil
	}
	ps.mu.Lock()
	ps.mine = false
	ps.mu.Unlock()
	p.startApply(part)
	p.n.log.Info("released partition", "partition", part)
}

// wire is a forwarded command's answer.
type wire struct {
	Result json.RawMessage `json:"result,omitempty"`
	Seq    uint64          `json:"seq,omitempty"`
	Kind   string          `json:"kind,omitempty"`
	Field  string          `json:"field,omitempty"`
	Msg    string          `json:"msg,omitempty"`
}

// serve runs a command forwarded to this node as part's owner.
func (p *Partitions) serve(part int, m *nats.Msg) {
	var e store.Entry
	var w wire
	if err := json.Unmarshal(m.Data, &e); err != nil {
		w.Kind, w.Msg = "internal", "the forwarded command does not decode"
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		data, seq, err := p.st.ExecEntry(ctx, e)
		cancel()
		w.Result, w.Seq = data, seq
		if err != nil {
			w.Kind, w.Field, w.Msg = store.WireError(err)
		}
	}
	b, _ := json.Marshal(w)
	m.Respond(b)
}

// Forward runs a command on the owner of part, asking again while
// ownership moves (up to 20 s in all).
func (p *Partitions) Forward(ctx context.Context, part int, e store.Entry) ([]byte, uint64, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, 0, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for attempt := 0; ; attempt++ {
		if p.Owns(part) {
			return p.st.ExecEntry(ctx, e)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, err := p.n.nc.RequestWithContext(rctx, subjectExec+strconv.Itoa(part), body)
		cancel()
		var w wire
		if err == nil {
			if err = json.Unmarshal(m.Data, &w); err == nil && w.Kind != "" {
				err = store.ErrorFromWire(w.Kind, w.Field, w.Msg)
			}
		}
		retry := err != nil && (errors.Is(err, store.ErrNotOwner) || errors.Is(err, store.ErrUnavailable) ||
			errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout))
		if err == nil {
			return w.Result, w.Seq, nil
		}
		if !retry || ctx.Err() != nil || time.Now().After(deadline) {
			if retry {
				return nil, 0, store.Errorf(store.ErrUnavailable, "Partition %d has no owner at the moment; try again in a moment.", part)
			}
			return nil, 0, err
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 10)) * 50 * time.Millisecond):
		}
	}
}

// Sync waits until this node's replica of part has applied what part's
// log held when Sync was called: at once on its owner (whose lease makes
// it the only writer), else by asking the log's leader for its last entry.
func (p *Partitions) Sync(ctx context.Context, part int) error {
	ps := p.state[part]
	if p.Owns(part) && !ps.behind.Load() && time.Since(ps.renewedAt()) < p.n.cfg.LeaseTTL/2 {
		// The lease was renewed within half its time: no other node can
		// have taken it (they wait a whole lease's time without renewal).
		return nil
	}
	info, err := p.streams[part].Info(ctx)
	if err != nil {
		return store.Errorf(store.ErrUnavailable, "Partition %d's log does not answer at the moment; try again in a moment.", part)
	}
	return p.st.WaitApplied(ctx, part, info.State.LastSeq)
}

// manage keeps the node's heartbeat and its leases: it renews the leases
// it holds, takes the partitions that fall to it when their lease lapses
// or is given up, and gives up the ones that belong to another live node.
// A partition belongs to the live node at its number modulo the live
// nodes, sorted by name.
func (p *Partitions) manage(ctx context.Context) {
	defer p.done.Done()
	tick := time.NewTicker(p.n.cfg.LeaseTTL / 4)
	defer tick.Stop()
	for {
		p.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-p.kick:
		}
	}
}

// round is one pass of manage.
func (p *Partitions) round(ctx context.Context) {
	now := time.Now()
	h := heartbeat{At: now.UnixMilli(), Ready: p.ready.Load()}
	if p.st != nil {
		for part := range p.parts {
			seq, _ := p.st.LastApplied(part)
			h.Applied = append(h.Applied, seq)
			if p.Owns(part) {
				h.Owned = append(h.Owned, part)
			}
		}
	}
	hb, _ := json.Marshal(h)
	c, cancel := context.WithTimeout(ctx, p.n.cfg.LeaseTTL)
	defer cancel()
	if _, err := p.nodes.Put(c, p.n.cfg.Name, hb); err != nil && ctx.Err() == nil {
		p.n.log.Warn("heartbeat", "error", err)
	}
	live := p.liveNodes(c)
	for part := range p.parts {
		if ctx.Err() != nil {
			return
		}
		p.tend(c, part, live, now)
	}
}

// liveNodes returns the ready nodes whose heartbeat changed within a
// lease's time, as this node has seen them, sorted by name.
func (p *Partitions) liveNodes(ctx context.Context) []string {
	keys, err := p.nodes.ListKeys(ctx)
	if err != nil {
		return []string{p.n.cfg.Name}
	}
	defer keys.Stop()
	var live []string
	for k := range keys.Keys() {
		e, err := p.nodes.Get(ctx, k)
		if err != nil {
			continue
		}
		var hb heartbeat
		if json.Unmarshal(e.Value(), &hb) != nil || !hb.Ready {
			continue
		}
		if k == p.n.cfg.Name || p.fresh("node/"+k, e.Revision()) {
			live = append(live, k)
		}
	}
	if !slices.Contains(live, p.n.cfg.Name) && p.ready.Load() {
		live = append(live, p.n.cfg.Name)
	}
	slices.Sort(live)
	return live
}

// seen is a key's revision and when this node first saw it, so that
// "unchanged for a lease's time" needs no shared clock.
type seen struct {
	rev uint64
	at  time.Time
}

// fresh reports whether key's revision changed within a lease's time.
func (p *Partitions) fresh(key string, rev uint64) bool {
	now := time.Now()
	v, ok := p.seen.Load(key)
	if !ok || v.(seen).rev != rev {
		p.seen.Store(key, seen{rev, now})
		return true
	}
	return now.Sub(v.(seen).at) < p.n.cfg.LeaseTTL
}

// tend renews, takes or gives up one partition's lease.
func (p *Partitions) tend(ctx context.Context, part int, live []string, now time.Time) {
	key := "p." + strconv.Itoa(part)
	ps := p.state[part]
	want := live[part%len(live)] == p.n.cfg.Name
	e, err := p.leases.Get(ctx, key)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		if p.owned[part].Load() && errors.Is(err, context.DeadlineExceeded) {
			// The bucket does not answer: a lease that cannot be renewed
			// is given up before it could lapse elsewhere.
			if time.Since(ps.acquiredAt) > p.n.cfg.LeaseTTL/2 {
				p.release(part)
			}
		}
		return
	}
	var l lease
	var rev uint64
	if e != nil {
		rev = e.Revision()
		json.Unmarshal(e.Value(), &l)
	}
	ps.owner = l.Node
	val, _ := json.Marshal(lease{Node: p.n.cfg.Name, At: now.UnixMilli()})
	switch {
	case e != nil && l.Node == p.n.cfg.Name:
		if !p.owned[part].Load() {
			// A lease of ours from before a restart: give it up cleanly.
			p.leases.Delete(ctx, key, jetstream.LastRevision(rev))
			return
		}
		if !want && len(live) > 1 {
			// Another live node is where this partition belongs.
			p.release(part)
			p.leases.Delete(ctx, key, jetstream.LastRevision(rev))
			return
		}
		if _, err := p.leases.Update(ctx, key, val, rev); err != nil {
			p.n.log.Warn("lease lost", "partition", part, "error", err)
			p.release(part)
			return
		}
		ps.acquiredAt = time.Now()
		ps.renewed.Store(time.Now().UnixNano())
	case e == nil:
		if !want {
			return // its node will take it
		}
		if _, err := p.leases.Create(ctx, key, val); err == nil {
			ps.acquiredAt = time.Now()
			ps.renewed.Store(time.Now().UnixNano())
			p.become(ctx, part)
		}
	default:
		if p.owned[part].Load() {
			p.release(part) // someone else holds it now
		}
		if p.fresh(key, rev) {
			return
		}
		// The holder stopped renewing it: whoever it falls to takes it.
		if !want {
			return
		}
		if _, err := p.leases.Update(ctx, key, val, rev); err == nil {
			ps.acquiredAt = time.Now()
			ps.renewed.Store(time.Now().UnixNano())
			p.become(ctx, part)
		}
	}
}

// watchLeases kicks the manager when a lease is given up, so another
// node takes it at once.
func (p *Partitions) watchLeases(ctx context.Context) {
	defer p.done.Done()
	for ctx.Err() == nil {
		w, err := p.leases.WatchAll(ctx, jetstream.UpdatesOnly())
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for e := range w.Updates() {
			if e != nil && (e.Operation() == jetstream.KeyValueDelete || e.Operation() == jetstream.KeyValuePurge) {
				select {
				case p.kick <- struct{}{}:
				default:
				}
			}
		}
		w.Stop()
	}
}

// Leave gives up every lease this node holds, so the other nodes take
// its partitions at once (a graceful stop), and stops its loops.
func (p *Partitions) Leave() {
	if p.stop == nil {
		return
	}
	p.stop()
	p.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.nodes.Delete(ctx, p.n.cfg.Name)
	for part := range p.parts {
		if p.owned[part].Load() {
			p.owned[part].Store(false)
			if s := p.state[part].sub; s != nil {
				s.Unsubscribe()
			}
			key := "p." + strconv.Itoa(part)
			if e, err := p.leases.Get(ctx, key); err == nil {
				p.leases.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
			}
		}
		p.stopApplying(part)
	}
}
