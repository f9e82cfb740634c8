package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// writesThenFails takes an ID (a write) and then, if Fail, fails: the
// kind of failure after which a transaction must be rolled back and its
// entry run again without the command.
type writesThenFails struct {
	Meta
	Fail bool `json:"fail"`
}

func (writesThenFails) Shard() uint16 { return 0 }

func (c writesThenFails) apply(tx *Tx) (ID, error) {
	id, err := tx.NewID(0)
	if err != nil || !c.Fail {
		return id, err
	}
	return 0, Errorf(ErrInvalid, "This command fails after it wrote.")
}

func init() { register[writesThenFails, ID]("test.writesThenFails", 1) }

// Entries replayed many at a time (one transaction for several) reach the
// same state as the store that logged them, also when an entry holds a
// command that failed after it wrote; entries already applied in a call
// change nothing, and a call with a gap applies none of its entries.
func TestReplayAppliesManyEntriesAtOnce(t *testing.T) {
	s, log := loggingStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0: // names repeat: some fail before writing
				Exec(ctx, s, CreateUser{Meta: At(time.Now()), Username: fmt.Sprintf("u%d", i%20), PasswordHash: "h"})
			case 1:
				Exec(ctx, s, writesThenFails{Meta: At(time.Now()), Fail: i%2 == 0})
			default:
				Exec(ctx, s, CreateUser{Meta: At(time.Now()), Username: fmt.Sprintf("v%d", i), PasswordHash: "h"})
			}
		}()
	}
	wg.Wait()
	// One entry of a lone command that fails after it wrote.
	if _, err := Exec(ctx, s, writesThenFails{Meta: At(time.Now()), Fail: true}); err == nil {
		t.Fatal("the failing command did not fail")
	}

	fresh, err := Open(t.TempDir(), testOptions(Options{NoSync: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for part := range s.Partitions() {
		entries := log.entries[part]
		if len(entries) > 2 {
			if err := fresh.Replay(part, entries[1:]...); !errors.Is(err, ErrConflict) {
				t.Fatalf("partition %d: entries after a gap: %v, want a conflict", part, err)
			}
			if a, _ := fresh.LastApplied(part); a != 0 {
				t.Fatalf("partition %d: a call with a gap applied up to entry %d", part, a)
			}
		}
		// Chunks of five that overlap the entries before them by two.
		for from := 0; from < len(entries); from += 3 {
			if err := fresh.Replay(part, entries[max(from-2, 0):min(from+3, len(entries))]...); err != nil {
				t.Fatalf("partition %d, entries from %d: %v", part, from+1, err)
			}
		}
		a1, _ := s.LastApplied(part)
		a2, _ := fresh.LastApplied(part)
		if a1 != uint64(len(entries)) || a2 != a1 {
			t.Fatalf("partition %d: lastApplied %d and %d after %d entries", part, a1, a2, len(entries))
		}
	}
	if d1, d2 := dump(t, s, false), dump(t, fresh, false); !bytes.Equal(d1, d2) {
		t.Fatalf("a database replayed in chunks differs:\n%s\n---\n%s", d1, d2)
	}
}
