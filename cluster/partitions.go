package cluster

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	done   sync.WaitGroup     // the lease manager and its watcher
	hand   context.CancelFunc // ends the lease manager (Handover)
	leaseN atomic.Int64       // leases taken since start, for status
	execs  *nats.Subscription // commands forwarded to this node

	peersMu sync.Mutex
	peers   map[string]peer // the nodes bucket, as watched
}

// partState is what the node does for one partition.
type partState struct {
	mu          sync.Mutex   // held while the replica catches up
	owner       atomic.Value // string: the lease holder as last seen
	stopApply   context.CancelFunc
	applyDone   chan struct{}
	behind      atomic.Bool   // a publish failed: catch up before taking writes
	becoming    atomic.Bool   // the lease is this node's; the replica is catching up
	fenced      atomic.Bool   // an entry of this owner's is in the log: no earlier owner can append
	rev         atomic.Uint64 // the revision of this node's lease, as last written
	term        atomic.Uint64 // the lease's revision when this node took it
	renewed     atomic.Int64  // when the last successful renewal was sent (unix ns)
	streamLast  atomic.Uint64
	lastApplyAt atomic.Int64
}

// leaseFresh reports whether this node's lease on the partition was
// renewed within half a lease's time (no other node can have taken it).
func (ps *partState) leaseFresh(ttl time.Duration) bool {
	return time.Since(ps.renewedAt()) < ttl/2
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
	p := &Partitions{n: n, parts: parts, owned: make([]atomic.Bool, parts), kick: make(chan struct{}, 1), peers: map[string]peer{}}
	var err error
	if p.leases, err = open(ctx, n.log, bucketLeases, func(c context.Context) (jetstream.KeyValue, error) { return n.js.KeyValue(c, bucketLeases) }); err != nil {
		return nil, err
	}
	if p.nodes, err = open(ctx, n.log, bucketNodes, func(c context.Context) (jetstream.KeyValue, error) { return n.js.KeyValue(c, bucketNodes) }); err != nil {
		return nil, err
	}
	for i := range parts {
		s, err := open(ctx, n.log, "the log of partition "+strconv.Itoa(i), func(c context.Context) (jetstream.Stream, error) { return n.js.Stream(c, streamName(i)) })
		if err != nil {
			return nil, err
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
	// Commands are forwarded to a node by name, for whichever partition
	// it owns (see Forward); it answers the others with ErrNotOwner. Each
	// runs on its own goroutine: a subscription delivers its messages one
	// at a time, and commands waiting for their commit one after another
	// would never share a group commit.
	execs, err := p.n.nc.Subscribe(execSubject(p.n.cfg.Name, "*"), func(m *nats.Msg) {
		part, err := strconv.Atoi(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
		if err != nil || part < 0 || part >= p.parts {
			return
		}
		go p.serve(part, m)
	})
	if err != nil {
		p.n.log.Error("take forwarded commands", "error", err)
	}
	p.execs = execs
	// Catch up with every log before taking part: a node that was away
	// owns nothing until its replicas are current. Every partition's
	// apply loop starts at once, and each is awaited up to its log's end
	// as it was when the wait began.
	var wg sync.WaitGroup
	for i := range p.parts {
		p.startApply(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.catchUpAtStart(ctx, i)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // left while catching up
	}
	p.ready.Store(true)
	mctx, hand := context.WithCancel(ctx)
	p.hand = hand
	p.done.Add(3)
	go p.watchNodes(mctx)
	go p.watchLeases(mctx)
	go p.manage(mctx)
}

// catchUpAtStart returns once part's replica has applied its log up to
// the end the log's leader reports, or ctx ends. The apply loop does the
// work; when it makes no progress for a while (its consumer re-forming
// after the log's leader moved), the entries are read straight from the
// log.
func (p *Partitions) catchUpAtStart(ctx context.Context, part int) {
	began := time.Now()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		end, err := p.logEnd(ctx, part)
		if err != nil {
			continue // logEnd waited; ctx ended
		}
		before, _ := p.st.LastApplied(part)
		wait, cancel := context.WithTimeout(ctx, catchUpPatience)
		err = p.st.WaitApplied(wait, part, end)
		cancel()
		if err == nil {
			if end > before || attempt > 0 {
				p.n.log.Info("caught up", "partition", part, "entry", end, "took", time.Since(began).Round(time.Millisecond).String())
			}
			return
		}
		now, _ := p.st.LastApplied(part)
		p.n.log.Info("catching up", "partition", part, "applied", now, "log end", end)
		if now == before {
			if err := p.fill(ctx, part, end); err != nil {
				p.n.log.Warn("reading the log directly", "partition", part, "error", err)
			}
		}
	}
}

// catchUpPatience is how long a start-up catch-up waits for the apply
// loop before it reports progress, or reads the log itself if there was
// none.
const catchUpPatience = 5 * time.Second

// Owns reports whether this node applies fresh commands of part: it
// holds the partition's lease, renewed within half a lease's time.
func (p *Partitions) Owns(part int) bool {
	return part >= 0 && part < p.parts && p.owned[part].Load() && p.state[part].leaseFresh(p.n.cfg.LeaseTTL)
}

// Append publishes a partition's log entry, expecting the log to end just
// before it: a node that lost its lease (its successor wrote meanwhile)
// is refused by JetStream itself. A refusal, or a lease no longer fresh,
// fails the group commit with store.ErrNotOwner (nothing was written:
// the store asks the partition's owner); a publish without an answer
// fails it with store.ErrUnavailable (the entry may be in the log or
// not). Either way the partition catches up with its log before it
// takes writes again.
func (p *Partitions) Append(part int, seq uint64, entry []byte) error {
	ps := p.state[part]
	if !p.Owns(part) || ps.behind.Load() {
		return store.ErrNotOwner
	}
	ack, err := p.publish(part, seq, entry)
	if err == nil && ack.Sequence == seq {
		ps.streamLast.Store(seq)
		ps.fenced.Store(true)
		return nil
	}
	ps.behind.Store(true)
	go p.catchUp(part)
	var api *jetstream.APIError
	if errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		p.n.log.Info("log append refused: another owner wrote; catching up", "partition", part, "seq", seq)
		return store.ErrNotOwner
	}
	if err == nil {
		err = fmt.Errorf("the log put entry %d at %d", seq, ack.Sequence)
	}
	p.n.log.Warn("log append unanswered; catching up", "partition", part, "seq", seq, "error", err)
	return store.Errorf(store.ErrUnavailable, "Partition %d's log did not answer in time, so this change may or may not have been saved; check, then try again.", part)
}

// publish sends an entry to part's log, asking again (the same message:
// the log keeps one of each ID) while the log's leader does not answer,
// up to three seconds in all: a leader handing over to another, or being
// elected, answers nothing for a moment.
func (p *Partitions) publish(part int, seq uint64, entry []byte) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		m := nats.NewMsg(subjectLog + strconv.Itoa(part))
		m.Data = entry
		m.Header.Set(HeaderWriter, p.n.cfg.Name+" "+strconv.FormatUint(p.state[part].term.Load(), 10))
		ack, err := p.n.js.PublishMsg(ctx, m,
			jetstream.WithExpectLastSequence(seq-1), jetstream.WithMsgID(msgID(part, seq, entry)))
		cancel()
		var api *jetstream.APIError
		if err == nil || errors.As(err, &api) || time.Now().After(deadline) {
			return ack, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HeaderWriter names, on every log entry, the node that wrote it and its
// lease's term (the leases bucket's revision when the node took the
// lease): terms never go down along a log, since a former owner cannot
// append once its successor has (see fence).
const HeaderWriter = "Aperture-Writer"

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
	last, err := p.logEnd(ctx, part)
	if err != nil {
		return err
	}
	return p.fill(ctx, part, last)
}

// logEnd returns the sequence number of part's last log entry, as the
// log's leader knows it, asking again every moment until ctx ends (a
// leader being elected answers nothing).
func (p *Partitions) logEnd(ctx context.Context, part int) (uint64, error) {
	for attempt := 0; ; attempt++ {
		c, cancel := context.WithTimeout(ctx, time.Second)
		info, err := p.streams[part].Info(c)
		cancel()
		if err == nil {
			p.state[part].streamLast.Store(info.State.LastSeq)
			return info.State.LastSeq, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the log of partition %d: %w", part, err)
		case <-time.After(time.Duration(min(attempt+1, 5)) * 50 * time.Millisecond):
		}
	}
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

// applyBatch bounds how many log entries a replica applies in one
// transaction: those that arrived while it applied the ones before.
const applyBatch = 256

// apply consumes part's log in order from this replica's next entry. The
// entries that arrive while it commits are applied together, in one
// transaction, so a replica that is behind catches up at hundreds of
// entries per commit rather than one.
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
	quit := make(chan struct{})
	defer close(quit)
	defer it.Stop()
	go func() {
		select {
		case <-ctx.Done():
			it.Stop()
		case <-quit:
		}
	}()
	in := make(chan jetstream.Msg, applyBatch)
	var readErr error
	go func() {
		defer close(in)
		for {
			m, err := it.Next()
			if err != nil {
				readErr = err
				return
			}
			select {
			case in <- m:
			case <-quit:
				return
			}
		}
	}()
	ps := p.state[part]
	batch := make([][]byte, 0, applyBatch)
	for {
		m, ok := <-in
		if !ok {
			if ctx.Err() != nil || errors.Is(readErr, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return readErr
		}
		batch = append(batch[:0], m.Data())
	more:
		for len(batch) < applyBatch {
			select {
			case next, ok := <-in:
				if !ok {
					break more
				}
				m = next
				batch = append(batch, m.Data())
			default:
				break more
			}
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		if err := p.st.Replay(part, batch...); err != nil {
			return fmt.Errorf("entries up to %d: %w", meta.Sequence.Stream, err)
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
	ps.fenced.Store(false)
	ps.mu.Unlock()
	p.owned[part].Store(true)
	if !p.fence(ctx, part) {
		if p.owned[part].CompareAndSwap(true, false) { // else release did it
			p.startApply(part)
		}
		return
	}
	if !p.owned[part].Load() {
		return // released meanwhile
	}
	p.leaseN.Add(1)
	p.n.log.Info("owning partition", "partition", part)
	go func() {
		if err := p.st.ApplyConfig(context.Background()); err != nil {
			p.n.log.Warn("configure partitions", "error", err)
		}
	}()
}

// fence writes a Fence entry as this owner's first, before it answers
// anything: an entry a former owner still had on its way then finds the
// log moved on and is refused. An entry of the former owner's that lands
// first is applied (it is in the log before the fence: the catch-up
// replays it) and the fence is written after it. It returns false when
// the lease went meanwhile.
func (p *Partitions) fence(ctx context.Context, part int) bool {
	ps := p.state[part]
	for ctx.Err() == nil && p.Owns(part) {
		if ps.behind.Load() {
			time.Sleep(20 * time.Millisecond) // catchUp runs
			continue
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.st.Fence(c, part)
		cancel()
		if err == nil {
			return true
		}
		p.n.log.Info("fencing the log before owning it", "partition", part, "error", err)
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// release stops owning part: it takes no more commands and applies the
// log again.
func (p *Partitions) release(part int) {
	if !p.owned[part].CompareAndSwap(true, false) {
		return
	}
	// Commands forwarded here from now on are answered ErrNotOwner, and
	// their senders ask the new owner.
	p.startApply(part)
	p.n.log.Info("released partition", "partition", part)
}

// execSubject returns the subject on which node takes forwarded commands
// for part ("*": every partition). A node's name may hold characters a
// subject cannot, so it goes in hex.
func execSubject(node, part string) string {
	return subjectExec + hex.EncodeToString([]byte(node)) + "." + part
}
