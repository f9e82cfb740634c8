package store

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// allocIDs is a test command that takes N IDs on one shard.
type allocIDs struct {
	Meta
	S uint16
	N int
}

func (c allocIDs) Shard() uint16 { return c.S }

func (c allocIDs) apply(tx *Tx) ([]ID, error) {
	out := make([]ID, c.N)
	for i := range out {
		id, err := tx.NewID(c.S)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

func openT(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir, testOptions(Options{NoSync: true}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestIDRoundTrip(t *testing.T) {
	at := time.Date(2027, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	for _, shard := range []uint16{0, 1, 4095, Shards - 1} {
		for _, seq := range []uint16{0, 1, maxSeq} {
			id := MakeID(at, shard, seq)
			if id.Shard() != shard || id.Seq() != seq || !id.Time().Equal(at) {
				t.Fatalf("MakeID(%v,%d,%d) = %d → %v %d %d", at, shard, seq, id, id.Time(), id.Shard(), id.Seq())
			}
			back, err := ParseID(id.String())
			if err != nil || back != id {
				t.Fatalf("parse %s: %v %v", id, back, err)
			}
		}
	}
	for _, bad := range []string{"", "0", "-1", "+5", "abc", "18446744073709551616", "1e3"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

func TestNextIDClockBackAndOverflow(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	a, _ := nextID(0, now, 7)
	b, _ := nextID(a, now.Add(-time.Hour), 7) // clock stepped back an hour
	if b <= a || b.Shard() != 7 {
		t.Fatalf("clock back: %d then %d", a, b)
	}
	full := MakeID(now, 7, maxSeq)
	c, _ := nextID(full, now, 7)
	if c <= full || c.Shard() != 7 || c.Seq() != 0 || !c.Time().Equal(now.Add(time.Millisecond)) {
		t.Fatalf("sequence overflow borrowed wrongly: %d → %d (shard %d, seq %d)", full, c, c.Shard(), c.Seq())
	}
}

// TestMillionIDsConcurrent makes 1,000,000 IDs through concurrent commands
// on a few shards, with clocks that jump around, and checks that all are
// unique, carry their shard and grow per shard in commit order.
func TestMillionIDsConcurrent(t *testing.T) {
	s := openT(t, t.TempDir())
	const workers, perCmd, cmds = 8, 500, 250 // 8 × 250 × 500 = 1,000,000
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	results := make([][][]ID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cmds {
				// Every third command comes from a clock a minute behind.
				at := base.Add(time.Duration(i) * time.Millisecond)
				if i%3 == 0 {
					at = at.Add(-time.Minute)
				}
				ids, err := Exec(context.Background(), s, allocIDs{Meta: At(at), S: uint16(w % 3), N: perCmd})
				if err != nil {
					t.Error(err)
					return
				}
				results[w] = append(results[w], ids)
			}
		}()
	}
	wg.Wait()
	seen := make(map[ID]struct{}, workers*cmds*perCmd)
	for w, batches := range results {
		var prev ID
		for _, ids := range batches {
			for _, id := range ids {
				if _, dup := seen[id]; dup {
					t.Fatalf("duplicate ID %d", id)
				}
				seen[id] = struct{}{}
				if id.Shard() != uint16(w%3) {
					t.Fatalf("ID %d on shard %d, want %d", id, id.Shard(), w%3)
				}
				if id <= prev {
					t.Fatalf("IDs of one worker's shard went back: %d after %d", id, prev)
				}
				prev = id
			}
		}
	}
	if len(seen) != workers*cmds*perCmd {
		t.Fatalf("made %d IDs", len(seen))
	}
}

func TestIDsSurviveRestartWithClockBack(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := openT(t, dir)
	first, err := Exec(context.Background(), s, allocIDs{Meta: At(now), S: 42, N: 2000})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openT(t, dir)
	// After the restart the clock reads a day earlier.
	second, err := Exec(context.Background(), s2, allocIDs{Meta: At(now.Add(-24 * time.Hour)), S: 42, N: 10})
	if err != nil {
		t.Fatal(err)
	}
	if second[0] <= first[len(first)-1] {
		t.Fatalf("an ID went back across a restart: %d after %d", second[0], first[len(first)-1])
	}
}

func BenchmarkNextID(b *testing.B) {
	now := time.Now()
	var id ID
	b.ReportAllocs()
	for b.Loop() {
		id, _ = nextID(id, now, 9)
	}
}

func BenchmarkNewIDInCommand(b *testing.B) {
	s := openT(b, b.TempDir())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Exec(context.Background(), s, allocIDs{Meta: At(time.Now()), S: 1, N: 1000}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/id")
}

// testOptions returns opt with the tests' partition count (see
// storetest.Partitions), unless opt names one.
func testOptions(opt Options) Options {
	if n, err := strconv.Atoi(os.Getenv("APERTURE_TEST_PARTITIONS")); err == nil && n > 0 && opt.Partitions == 0 {
		opt.Partitions = n
	}
	return opt
}
