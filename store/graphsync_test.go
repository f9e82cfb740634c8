package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// The two sides of an edge live in two partitions and meet through
// versioned syncs that the outbox may deliver in any order. These tests
// deliver crossing syncs in the order that once left the sides apart.

// twoSides opens a store of four partitions with a and b in different
// partitions, a following b and both sides settled.
func twoSides(t *testing.T) (*Store, *User, *User) {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Partitions: 4, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	named := func(prefix string, part int) *User {
		for i := 0; ; i++ {
			name := fmt.Sprintf("%s%d", prefix, i)
			if int(ShardForUsername(name))%4 == part {
				u, err := Exec(context.Background(), s, CreateUser{Meta: At(time.Now()), Username: name, PasswordHash: "h"})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
		}
	}
	a, b := named("a", 0), named("b", 1)
	exec1(t, s, Follow{Meta: At(time.Now()), FollowerID: a.ID, TargetID: b.ID})
	Settle(t, s)
	return s, a, b
}

func exec1[R any](t *testing.T, s *Store, cmd Command[R]) {
	t.Helper()
	if _, err := Exec(context.Background(), s, cmd); err != nil {
		t.Fatal(err)
	}
}

// deliver runs the graph jobs queued in part, in the order given by
// order (indexes into the due jobs, oldest first), and marks them done.
func deliver(t *testing.T, s *Store, part int, order ...int) {
	t.Helper()
	jobs, err := s.DueJobs(part, time.Now().Add(time.Hour), 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs = slices.DeleteFunc(jobs, func(j *Job) bool { return j.Kind != JobBlockSync && j.Kind != JobFollowSync })
	if len(jobs) != len(order) {
		t.Fatalf("%d graph jobs queued in partition %d, want %d", len(jobs), part, len(order))
	}
	var done []ID
	for _, i := range order {
		if err := settleJob(context.Background(), s, jobs[i]); err != nil {
			t.Fatal(err)
		}
		done = append(done, jobs[i].ID)
	}
	exec1(t, s, JobsDone{Meta: At(time.Now()), JobIDs: done})
}

func consistent(t *testing.T, s *Store) {
	t.Helper()
	Settle(t, s)
	bad, err := s.Check()
	if err != nil || len(bad) > 0 {
		t.Fatalf("the sides disagree: %v %v", err, bad)
	}
}

// b blocks and unblocks a; a's side gets the unblock before the block,
// which it then ignores as older: a's follow of b, which b's side ended
// when it blocked, must end on a's side too.
func TestUnblockOvertakesBlock(t *testing.T) {
	s, a, b := twoSides(t)
	exec1(t, s, Block{Meta: At(time.Now()), BlockerID: b.ID, BlockedID: a.ID})
	exec1(t, s, Unblock{Meta: At(time.Now()), BlockerID: b.ID, BlockedID: a.ID})
	deliver(t, s, s.PartitionOf(b.ID.Shard()), 1, 0)
	consistent(t, s)
	if r, _ := s.Relationship(a.ID, b.ID); r.Following || r.Requested {
		t.Fatalf("a still follows b after b blocked a: %+v", r)
	}
}

// a blocks b, unblocks b and follows b again; b's side gets the new
// follow before the block: the block's sync must not undo that newer
// follow, which a's side holds.
func TestBlockSyncAfterNewerFollow(t *testing.T) {
	s, a, b := twoSides(t)
	exec1(t, s, Block{Meta: At(time.Now()), BlockerID: a.ID, BlockedID: b.ID})
	exec1(t, s, Unblock{Meta: At(time.Now()), BlockerID: a.ID, BlockedID: b.ID})
	exec1(t, s, Follow{Meta: At(time.Now()), FollowerID: a.ID, TargetID: b.ID})
	// Queued in a's partition, oldest first: the follow's end (0), the
	// block (1), the unblock (2), the new follow (3).
	deliver(t, s, s.PartitionOf(a.ID.Shard()), 3, 1, 2, 0)
	consistent(t, s)
	if r, _ := s.Relationship(a.ID, b.ID); !r.Following {
		t.Fatalf("a's follow after unblocking b was lost: %+v", r)
	}
}
