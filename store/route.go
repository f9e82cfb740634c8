package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// In cluster mode a partition is replicated on several nodes, and one of
// them, its owner, applies fresh commands; every other replica applies
// the partition's log (Replay). The store asks its Router whether this
// node owns a command's partition, and if not, forwards the command
// (prepared, as its log element) to the owner, then waits until its own
// replica has applied the entry that holds it, so a read that follows a
// write on any node sees it.

// Router tells the store where a partition's commands run.
type Router interface {
	// Owns reports whether this node applies fresh commands of partition
	// part.
	Owns(part int) bool
	// Forward runs a command on the node that owns partition part and
	// returns its result (JSON), the sequence number of the log entry that
	// holds it, or the command's own error (see WireError). It fails with
	// ErrUnavailable when no owner answers in time.
	Forward(ctx context.Context, part int, e Entry) (result []byte, seq uint64, err error)
	// Sync returns once this node's replica of part has applied every
	// entry its log held when Sync was called (at once on its owner), so
	// that a read that follows sees every write acknowledged before it,
	// on any node. It fails with ErrUnavailable when the log does not
	// answer in time.
	Sync(ctx context.Context, part int) error
	// Await returns once this node's replica of part has applied log
	// entry seq. It fails with ErrUnavailable when that takes more than
	// ten seconds.
	Await(ctx context.Context, part int, seq uint64) error
}

// ErrNotOwner is the error of a command sent to a node that does not own
// its partition (any more): the sender asks the new owner.
var ErrNotOwner = Errorf(ErrUnavailable, "This node does not own that partition at the moment; try again.")

// forward runs a prepared command through the Router and decodes its
// result.
func forward[R any](ctx context.Context, s *Store, part int, cmd Command[R]) (R, error) {
	var res R
	e, err := EncodeCommand(cmd)
	if err != nil {
		return res, err
	}
	data, seq, err := s.opt.Router.Forward(ctx, part, e)
	if err != nil {
		return res, err
	}
	if err := s.opt.Router.Await(ctx, part, seq); err != nil {
		return res, err
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return res, fmt.Errorf("store: result of %s: %w", e.Type, err)
	}
	return res, nil
}

// ExecEntry runs a forwarded command on this node, which must own its
// partition, and returns its result as JSON and the sequence number of
// the log entry that holds it. It fails with ErrNotOwner when this node
// does not own the partition, and with the command's own error.
func (s *Store) ExecEntry(ctx context.Context, e Entry) ([]byte, uint64, error) {
	r, err := decodeEntry(e)
	if err != nil {
		return nil, 0, err
	}
	part := s.PartitionOf(r.Shard())
	if s.opt.Router != nil && !s.opt.Router.Owns(part) {
		return nil, 0, ErrNotOwner
	}
	var res any
	p := &pending{done: make(chan struct{}), shard: r.Shard(), entry: &e, run: func(tx *Tx) error {
		v, err := r.run(tx)
		res = v
		return err
	}}
	p.bulk = r.isBulk()
	if err := s.parts[part].c.submit(ctx, p); err != nil {
		return nil, 0, err
	}
	<-p.done
	if p.err != nil {
		return nil, p.seq, p.err
	}
	data, err := json.Marshal(res)
	return data, p.seq, err
}

// synced makes the reads that follow on this node see every write
// acknowledged before, anywhere in a cluster, for the partitions that
// hold the given shards (see Router.Sync); on one node it does nothing.
// The reads of one object (a profile, a post, its comments and likes)
// ask for it; lists that merge many partitions do not.
func (s *Store) synced(ids ...ID) error {
	if s.opt.Router == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := map[int]bool{}
	for _, id := range ids {
		if id == 0 {
			continue
		}
		part := s.PartitionOf(id.Shard())
		if done[part] {
			continue
		}
		done[part] = true
		if err := s.opt.Router.Sync(ctx, part); err != nil {
			if errors.Is(err, ErrUnavailable) {
				return err
			}
			return Errorf(ErrUnavailable, "This node could not catch up with partition %d in time; try again in a moment.", part)
		}
	}
	return nil
}

// WaitApplied waits until partition part has applied log entry seq on
// this node, for at most ten seconds (ErrUnavailable after that).
func (s *Store) WaitApplied(ctx context.Context, part int, seq uint64) error {
	return s.waitApplied(ctx, part, seq)
}

// waitApplied waits until partition part has applied log entry seq here,
// for at most ten seconds.
func (s *Store) waitApplied(ctx context.Context, part int, seq uint64) error {
	p := s.parts[part]
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		tick := p.tick()
		if p.applied.Load() >= seq {
			return nil
		}
		select {
		case <-tick:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return Errorf(ErrUnavailable, "This node is behind on partition %d; try again in a moment.", part)
		}
	}
}

// WireError returns how an error travels between nodes: its kind (one of
// the Err… kinds, "not owner" for ErrNotOwner, or "internal"), the field
// at fault, and its sentence.
func WireError(err error) (kind, field, msg string) {
	if errors.Is(err, ErrNotOwner) {
		return wireNotOwner, "", ErrNotOwner.Error()
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind.Error(), e.Field, e.Msg
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k.Error(), "", err.Error()
		}
	}
	return "internal", "", err.Error()
}

// ErrorFromWire rebuilds an error that WireError described.
func ErrorFromWire(kind, field, msg string) error {
	if kind == wireNotOwner {
		return ErrNotOwner
	}
	for _, k := range kinds {
		if k.Error() == kind {
			return &Error{Kind: k, Field: field, Msg: msg}
		}
	}
	return errors.New(msg)
}

const wireNotOwner = "not owner"

var kinds = []error{ErrNotFound, ErrConflict, ErrInvalid, ErrUnauthorized, ErrForbidden, ErrTooLarge, ErrUnavailable}

// Changes are what a commit changed, for derived data that every node
// keeps for itself (the search index): users, posts and places, and the
// jobs it queued (each node runs the search index's own, while the
// partition's owner runs the rest).
type Changes struct {
	Users, Posts, Places []ID
	Jobs                 []*Job
}

// changes sorts a transaction's written keys into Changes.
func changes(dirty []cacheKey, places []ID) Changes {
	var c Changes
	seen := map[cacheKey]bool{}
	for _, k := range dirty {
		if seen[k] {
			continue
		}
		seen[k] = true
		switch k.bucket {
		case 'u':
			c.Users = append(c.Users, ID(k.id))
		case 'p':
			c.Posts = append(c.Posts, ID(k.id))
		}
	}
	c.Places = places
	return c
}
