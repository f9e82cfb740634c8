package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"aperture/store"
)

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
// ownership moves (up to 20 s in all). The command goes to the owner by
// name, as the partition's lease says (a node that gave a partition up
// keeps answering "not the owner" until it stops), so no message is sent
// to a subscription that is going away. It asks again only when the
// command surely did not run: no node owned the partition, or the one
// asked no longer did. An owner that does not answer in time may have
// run it, so that fails with store.ErrUnavailable, as does a partition
// without an owner for 20 s.
func (p *Partitions) Forward(ctx context.Context, part int, e store.Entry) ([]byte, uint64, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, 0, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for attempt := 0; ; attempt++ {
		var data []byte
		var seq uint64
		if p.Owns(part) {
			data, seq, err = p.st.ExecEntry(ctx, e)
		} else if owner := p.ownerOf(ctx, part, attempt > 0); owner == "" || owner == p.n.cfg.Name {
			err = nats.ErrNoResponders // between owners, or becoming this node
		} else {
			data, seq, err = p.request(ctx, part, owner, body)
		}
		if err == nil || !(errors.Is(err, store.ErrNotOwner) || errors.Is(err, nats.ErrNoResponders)) {
			return data, seq, err
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, 0, store.Errorf(store.ErrUnavailable, "Partition %d has no owner at the moment; try again in a moment.", part)
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 10)) * 50 * time.Millisecond):
		}
	}
}

// forwardPatience is how long a forwarded command waits for its owner's
// answer: an owner answers in milliseconds, or has died with the command
// (which it may or may not have logged).
const forwardPatience = 5 * time.Second

// ownerOf returns the node holding part's lease ("" for none): as this
// node last saw it, or, if look or it has seen none, as the leases
// bucket says now.
func (p *Partitions) ownerOf(ctx context.Context, part int, look bool) string {
	ps := p.state[part]
	if owner, _ := ps.owner.Load().(string); owner != "" && !look {
		return owner
	}
	c, cancel := context.WithTimeout(ctx, p.opTimeout())
	defer cancel()
	e, err := p.leases.Get(c, "p."+strconv.Itoa(part))
	if err != nil {
		return ""
	}
	var l lease
	json.Unmarshal(e.Value(), &l)
	ps.owner.Store(l.Node)
	return l.Node
}

// request sends a command to owner, part's owner, and returns its answer.
func (p *Partitions) request(ctx context.Context, part int, owner string, body []byte) ([]byte, uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, forwardPatience)
	defer cancel()
	m, err := p.n.nc.RequestWithContext(rctx, execSubject(owner, strconv.Itoa(part)), body)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return nil, 0, store.Errorf(store.ErrUnavailable, "The owner of partition %d did not answer in time, so this change may or may not have been made; check, then try again.", part)
	}
	if err != nil {
		return nil, 0, err
	}
	var w wire
	if err := json.Unmarshal(m.Data, &w); err != nil {
		return nil, 0, err
	}
	if w.Kind != "" {
		return nil, 0, store.ErrorFromWire(w.Kind, w.Field, w.Msg)
	}
	return w.Result, w.Seq, nil
}

// Sync waits until this node's replica of part has applied what part's
// log held when Sync was called: at once on its owner (whose lease makes
// it the only writer), else by asking the log's leader for its last entry.
func (p *Partitions) Sync(ctx context.Context, part int) error {
	if p.Owns(part) && !p.state[part].behind.Load() && p.state[part].fenced.Load() {
		// Its lease is fresh, so no other node can have taken it, and an
		// entry of its own is in the log, so no earlier owner can still
		// append: this replica is the log.
		return nil
	}
	last, err := p.logEnd(ctx, part)
	if err != nil {
		return store.Errorf(store.ErrUnavailable, "Partition %d's log does not answer at the moment; try again in a moment.", part)
	}
	return p.Await(ctx, part, last)
}

// Await returns once this node's replica of part has applied entry seq.
// The apply loop nearly always gets there first; when it has not within
// a moment (its consumer re-forms after the log's leader moved, which
// JetStream notices only by missed heartbeats), the missing entries are
// read straight from the log. It fails with ErrUnavailable after ten
// seconds.
func (p *Partitions) Await(ctx context.Context, part int, seq uint64) error {
	soon, cancel := context.WithTimeout(ctx, awaitPatience)
	err := p.st.WaitApplied(soon, part, seq)
	cancel()
	if err == nil || ctx.Err() != nil {
		return err
	}
	if err := p.fill(ctx, part, seq); err != nil {
		p.n.log.Warn("reading the log directly", "partition", part, "seq", seq, "error", err)
	}
	return p.st.WaitApplied(ctx, part, seq)
}

// awaitPatience is how long Await leaves the apply loop to reach an entry
// before it reads the log itself.
const awaitPatience = 250 * time.Millisecond

// fill applies part's log entries after this replica's last one, up to
// seq, read directly from the log (the store skips any that the apply
// loop applies meanwhile), up to applyBatch of them per transaction.
func (p *Partitions) fill(ctx context.Context, part int, seq uint64) error {
	applied, err := p.st.LastApplied(part)
	if err != nil {
		return err
	}
	var batch [][]byte
	for next := applied + 1; next <= seq; next++ {
		m, err := p.streams[part].GetMsg(ctx, next)
		if err != nil {
			return fmt.Errorf("entry %d: %w", next, err)
		}
		if batch = append(batch, m.Data); len(batch) == applyBatch || next == seq {
			if err := p.st.Replay(part, batch...); err != nil {
				return fmt.Errorf("entries up to %d: %w", next, err)
			}
			batch = batch[:0]
		}
	}
	return nil
}
