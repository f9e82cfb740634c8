package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"aperture/store"
)

// An activity job delivered twice records its activity once (the
// recipient's partition remembers the source job), and activities from
// different sources in the same millisecond are all recorded: their IDs
// are minted by the recipient's partition.
func TestActivityOnceBySource(t *testing.T) {
	s := MustOpen(t, "")
	ctx := context.Background()
	ana := mustCreate(t, s, "ana")
	ben := mustCreate(t, s, "ben")
	cy := mustCreate(t, s, "cy")
	at := time.Now().UTC().Truncate(time.Millisecond)
	add := func(actor *store.User, source store.ID) {
		t.Helper()
		a := store.Activity{UserID: ana.ID, Type: store.ActFollow, ActorID: actor.ID, CreatedAt: at}
		if _, err := store.Exec(ctx, s, store.AddActivity{Meta: store.At(at), Activity: a, Source: source}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		actor  *store.User
		source store.ID
	}{{ben, 101}, {ben, 101}, {cy, 202}, {cy, 202}, {ben, 303}} {
		add(c.actor, c.source)
	}
	groups, _, unread, err := s.ActivityPage(ana.ID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Count != 3 || unread != 3 {
		t.Fatalf("groups %+v, unread %d: want one group of 3", groups, unread)
	}
}

// Fifty sign-ups at once of one name, spelled with spaces, in other cases
// and in full-width letters, on a store of four partitions: exactly one
// account is made, and the name finds it.
func TestOneAccountPerNameAcrossPartitions(t *testing.T) {
	s, err := store.Open(t.TempDir(), store.Options{Partitions: 4, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spellings := []string{"alice", " Alice", "ALICE ", "aLiCe", "\u3000alice\u3000", "ａｌｉｃｅ"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var made []*store.User
	conflicts := 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := store.Exec(context.Background(), s, store.CreateUser{Meta: store.At(time.Now()), Username: spellings[i%len(spellings)], PasswordHash: "h"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				made = append(made, u)
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(made) != 1 || conflicts != 49 {
		t.Fatalf("%d accounts made, %d refused as taken", len(made), conflicts)
	}
	for _, sp := range spellings {
		if u, err := s.UserByUsername(sp); err != nil || u.ID != made[0].ID {
			t.Fatalf("%q finds %v (%v), want %s", sp, u, err, made[0].ID)
		}
	}
	ids, _ := s.UserIDs()
	if len(ids) != 1 {
		t.Fatalf("%d accounts stored", len(ids))
	}
}
