package cluster

import (
	"context"
	"time"
)

// Status reads the cluster's status (ReadStatus) through this node's
// connection. It asks the buckets and every partition's log, so callers
// that ask often keep its answer for a moment.
func (n *Node) Status(ctx context.Context) (*Status, error) { return ReadStatus(ctx, n.js) }

// LeaseTTL returns how long a partition's lease lasts without renewal; a
// node whose heartbeat is older than that is no longer counted live.
func (n *Node) LeaseTTL() time.Duration { return n.cfg.LeaseTTL }
