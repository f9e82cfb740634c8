package cluster_test

import (
	"testing"
	"time"
)

// A node knows when it is cut off from most of its cluster: Quorum holds
// while two of three nodes run, and fails on the last one standing.
func TestQuorum(t *testing.T) {
	members := startCluster(t, 2)
	waitUntil(t, 30*time.Second, func() bool {
		return members[0].node.Quorum() && members[1].node.Quorum() && members[2].node.Quorum()
	})
	// Two of three: a majority (once a new meta leader is elected, if the
	// third led).
	members[2].node.Close()
	waitUntil(t, 30*time.Second, func() bool { return members[0].node.Quorum() && members[1].node.Quorum() })
	members[1].node.Close()
	start := time.Now()
	waitUntil(t, 60*time.Second, func() bool { return !members[0].node.Quorum() })
	t.Logf("the last node knew it was alone %s after the second went", time.Since(start).Round(100*time.Millisecond))
}
