package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Leases. A partition's owner holds its lease, a key in a replicated
// bucket, and renews it by compare-and-swap four times a lease's time.
// Another node takes a lease only after it has seen no renewal for a
// whole lease's time (on its own clock: no shared clock is needed), and
// an owner stops writing and answering reads from its replica alone half
// a lease's time after it last sent a renewal that succeeded. Under that
// margin two nodes never both act as owner. Writes are fenced besides:
// the log takes an entry only at the sequence number its writer expects.
//
// A partition belongs to the live node that ranks highest for it
// (rendezvous hashing: when a node goes or comes, only the partitions
// that rank it first move); a node is live while its heartbeat, in
// another bucket, changes within a lease's time.

// peer is another node as this one has heard of it.
type peer struct {
	rev   uint64
	at    time.Time // when rev was first seen here
	ready bool
}

// opTimeout bounds each call to a bucket, so one that does not answer
// (its leader is being elected) holds up a round for a moment only.
func (p *Partitions) opTimeout() time.Duration { return p.n.cfg.LeaseTTL / 4 }

// manage keeps the node's heartbeat and its leases: it renews the leases
// it holds, takes the partitions that fall to it when their lease lapses
// or is given up, and gives up the ones that belong to another live node.
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
	h := heartbeat{At: time.Now().UnixMilli(), Ready: p.ready.Load()}
	for part := range p.parts {
		seq, _ := p.st.LastApplied(part)
		h.Applied = append(h.Applied, seq)
		if p.Owns(part) {
			h.Owned = append(h.Owned, part)
		}
	}
	hb, _ := json.Marshal(h)
	c, cancel := context.WithTimeout(ctx, p.opTimeout())
	_, err := p.nodes.Put(c, p.n.cfg.Name, hb)
	cancel()
	if err != nil && ctx.Err() == nil {
		p.n.log.Debug("heartbeat", "error", err)
	}
	live := p.liveNodes()
	homes := assign(p.parts, live)
	for part := range p.parts {
		if ctx.Err() != nil || !p.tend(ctx, part, homes[part] == p.n.cfg.Name, len(live) > 1) {
			return
		}
	}
}

// liveNodes returns the ready nodes whose heartbeat changed within a
// lease's time, as this node has heard them, and itself, sorted by name.
func (p *Partitions) liveNodes() []string {
	live := []string{p.n.cfg.Name}
	p.peersMu.Lock()
	for name, pr := range p.peers {
		if name != p.n.cfg.Name && pr.ready && time.Since(pr.at) < p.n.cfg.LeaseTTL {
			live = append(live, name)
		}
	}
	p.peersMu.Unlock()
	slices.Sort(live)
	return live
}

// assign returns which live node each of parts partitions belongs to.
// Each partition ranks the nodes by a hash of the pair (rendezvous
// hashing) and goes to the first one that has room, a node holding its
// fair share (and the remainder going one each to the first to ask):
// the partitions spread evenly, and
// when a node goes or comes few move besides its own.
func assign(parts int, live []string) []string {
	base, extra := parts/len(live), parts%len(live)
	held := map[string]int{}
	out := make([]string, parts)
	ranked := slices.Clone(live)
	for part := range parts {
		slices.SortFunc(ranked, func(a, b string) int {
			return cmp.Compare(rank(b, part), rank(a, part))
		})
		for _, n := range ranked {
			if held[n] < base || (held[n] == base && extra > 0) {
				if held[n] == base {
					extra--
				}
				out[part] = n
				held[n]++
				break
			}
		}
	}
	return out
}

func rank(node string, part int) uint64 { return mix(fnv64([]byte(node)) ^ mix(uint64(part)+1)) }

// mix is splitmix64's finalizer: it spreads FNV's close hashes of close
// strings over all 64 bits.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// watchNodes keeps peers from the nodes bucket, and kicks the manager when
// a node leaves or joins.
func (p *Partitions) watchNodes(ctx context.Context) {
	defer p.done.Done()
	watch(ctx, p.nodes, func(e jetstream.KeyValueEntry) {
		p.peersMu.Lock()
		defer p.peersMu.Unlock()
		if e.Operation() != jetstream.KeyValuePut {
			delete(p.peers, e.Key())
			p.kickManager()
			return
		}
		var hb heartbeat
		json.Unmarshal(e.Value(), &hb)
		old, known := p.peers[e.Key()]
		p.peers[e.Key()] = peer{rev: e.Revision(), at: time.Now(), ready: hb.Ready}
		if !known || old.ready != hb.Ready {
			p.kickManager()
		}
	})
}

// watchLeases kicks the manager when a lease is given up, so another
// node takes it at once.
func (p *Partitions) watchLeases(ctx context.Context) {
	defer p.done.Done()
	watch(ctx, p.leases, func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			p.kickManager()
		}
	})
}

// watch calls fn for every value of bucket and every change to it until
// ctx ends, watching again when a watch fails.
func watch(ctx context.Context, bucket jetstream.KeyValue, fn func(jetstream.KeyValueEntry)) {
	for ctx.Err() == nil {
		w, err := bucket.WatchAll(ctx)
		if err == nil {
			for e := range w.Updates() {
				if e != nil {
					fn(e)
				}
			}
			w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (p *Partitions) kickManager() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
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

// tend renews, takes or gives up one partition's lease (want: it belongs
// to this node; others: other nodes are live). It returns false
// when the bucket did not answer (the rest of the round would not fare
// better).
func (p *Partitions) tend(ctx context.Context, part int, want, others bool) bool {
	key := "p." + strconv.Itoa(part)
	ps := p.state[part]
	c, cancel := context.WithTimeout(ctx, p.opTimeout())
	defer cancel()
	e, err := p.leases.Get(c, key)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		p.unrenewed(part)
		return false
	}
	var l lease
	var rev uint64
	if e != nil {
		rev = e.Revision()
		json.Unmarshal(e.Value(), &l)
	}
	ps.owner.Store(l.Node)
	sent := time.Now() // a renewal counts from when it was sent
	val, _ := json.Marshal(lease{Node: p.n.cfg.Name, At: sent.UnixMilli()})
	switch {
	case e != nil && l.Node == p.n.cfg.Name:
		if ps.becoming.Load() {
			// Catching up to own it: keep the lease meanwhile.
			if _, err := p.leases.Update(c, key, val, rev); err == nil {
				ps.renewed.Store(sent.UnixNano())
			}
			return true
		}
		if !p.owned[part].Load() && rev != ps.rev.Load() {
			// A lease of ours from before a restart: give it up cleanly.
			p.leases.Delete(c, key, jetstream.LastRevision(rev))
			return true
		}
		if !want && others {
			// Another live node is where this partition belongs.
			p.release(part)
			p.leases.Delete(c, key, jetstream.LastRevision(rev))
			return true
		}
		next, err := p.leases.Update(c, key, val, rev)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) {
				p.n.log.Warn("lease lost", "partition", part)
				p.release(part)
				return true
			}
			p.unrenewed(part)
			return false
		}
		ps.rev.Store(next)
		ps.renewed.Store(sent.UnixNano())
		if !p.owned[part].Load() {
			// Given up while the bucket was away, and still ours.
			p.take(ctx, part)
		}
	case e == nil:
		if !want {
			return true // its node will take it
		}
		if next, err := p.leases.Create(c, key, val); err == nil {
			ps.rev.Store(next)
			ps.term.Store(next)
			ps.renewed.Store(sent.UnixNano())
			p.take(ctx, part)
		}
	default:
		if p.owned[part].Load() {
			p.release(part) // someone else holds it now
		}
		if p.fresh(key, rev) || !want {
			return true // its holder renews it, or it falls to another node
		}
		// The holder stopped renewing it, and it falls to this node.
		if next, err := p.leases.Update(c, key, val, rev); err == nil {
			ps.rev.Store(next)
			ps.term.Store(next)
			ps.renewed.Store(sent.UnixNano())
			p.take(ctx, part)
		}
	}
	return true
}

// unrenewed gives a partition up when its lease could not be renewed for
// half a lease's time (its bucket does not answer: its leader is being
// elected, or this node is cut off), before another node could take it.
func (p *Partitions) unrenewed(part int) {
	if p.owned[part].Load() && !p.state[part].leaseFresh(p.n.cfg.LeaseTTL) {
		p.n.log.Warn("lease not renewed in time; the partition waits", "partition", part)
		p.release(part)
	}
}

// take starts becoming part's owner, in the background: the manager goes
// on renewing this and the other leases meanwhile.
func (p *Partitions) take(ctx context.Context, part int) {
	ps := p.state[part]
	if !ps.becoming.CompareAndSwap(false, true) {
		return
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		defer ps.becoming.Store(false)
		p.become(ctx, part)
	}()
}

// Handover gives up every lease this node holds and takes no more, so
// the other nodes take its partitions at once (a graceful stop). Its
// replicas go on applying the logs, so the requests still in flight here
// are forwarded to the new owners and answered; Leave then stops them.
func (p *Partitions) Handover() {
	if p.hand == nil {
		return
	}
	p.hand()
	p.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.nodes.Delete(ctx, p.n.cfg.Name)
	var wg sync.WaitGroup
	for part := range p.parts {
		if !p.owned[part].Load() {
			continue
		}
		p.release(part)
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "p." + strconv.Itoa(part)
			if e, err := p.leases.Get(ctx, key); err == nil {
				var l lease
				if json.Unmarshal(e.Value(), &l) == nil && l.Node == p.n.cfg.Name {
					p.leases.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
				}
			}
		}()
	}
	wg.Wait()
}

// Leave hands its partitions over (if Handover has not) and stops
// applying the logs.
func (p *Partitions) Leave() {
	if p.stop == nil {
		return
	}
	p.Handover()
	p.stop()
	if p.execs != nil {
		// Late now: the leases moved when Handover returned, and no node
		// forwards here any more.
		p.execs.Drain()
	}
	for part := range p.parts {
		p.stopApplying(part)
	}
}
