package alerts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSources are measurements a test sets.
type fakeSources struct {
	mu                   sync.Mutex
	free, total          uint64
	requests, failed     uint64
	pages                Histogram
	depth, dead          int
	oldest               time.Time
	uploadFailures       uint64
	backup               BackupStatus
	lag                  time.Duration
	memUsed, memLimit    uint64
	unreachable, unowned int
	replicaLag           int
	set                  func(f *fakeSources) // under mu
}

func (f *fakeSources) do(fn func(f *fakeSources)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (f *fakeSources) sources() Sources {
	lock := func() func() { f.mu.Lock(); return f.mu.Unlock }
	return Sources{
		Disk:     func() (uint64, uint64, error) { defer lock()(); return f.free, f.total, nil },
		Requests: func() (uint64, uint64) { defer lock()(); return f.requests, f.failed },
		Pages:    &f.pages,
		Outbox: func() (int, time.Time, int, error) {
			defer lock()()
			return f.depth, f.oldest, f.dead, nil
		},
		UploadFailures: func() uint64 { defer lock()(); return f.uploadFailures },
		Backups:        func() BackupStatus { defer lock()(); return f.backup },
		SearchLag:      func() (time.Duration, error) { defer lock()(); return f.lag, nil },
		Memory:         func() (uint64, uint64, error) { defer lock()(); return f.memUsed, f.memLimit, nil },
		Cluster: func(context.Context) (ClusterHealth, error) {
			defer lock()()
			return ClusterHealth{Unreachable: f.unreachable, Unowned: f.unowned, MaxLag: f.replicaLag}, nil
		},
	}
}

// Each built-in rule fires on its fault and resolves when it is gone,
// through measurements the test sets.
func TestEveryRuleFiresAndResolves(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	healthy := func(f *fakeSources) {
		f.free, f.total = 50, 100
		f.depth, f.oldest = 3, time.Time{}
		f.backup = BackupStatus{Every: time.Hour, Last: start}
		f.memUsed, f.memLimit = 40, 100
		f.unreachable, f.unowned, f.replicaLag, f.lag = 0, 0, 0, 0
	}
	cases := []struct {
		rule  string
		fault func(f *fakeSources, now time.Time) // called at every reading while faulty
		fix   func(f *fakeSources, now time.Time)
	}{
		{"disk-free-warning", func(f *fakeSources, _ time.Time) { f.free = 10 }, func(f *fakeSources, _ time.Time) { f.free = 50 }},
		{"disk-free-critical", func(f *fakeSources, _ time.Time) { f.free = 3 }, func(f *fakeSources, _ time.Time) { f.free = 50 }},
		{"http-errors", func(f *fakeSources, _ time.Time) { f.requests += 100; f.failed += 20 }, func(f *fakeSources, _ time.Time) { f.requests += 100 }},
		{"page-latency", func(f *fakeSources, _ time.Time) {
			for range 30 {
				f.pages.Observe(2 * time.Second)
			}
		}, func(f *fakeSources, _ time.Time) {
			for range 30 {
				f.pages.Observe(20 * time.Millisecond)
			}
		}},
		{"outbox-oldest", func(f *fakeSources, now time.Time) {
			if f.oldest.IsZero() {
				f.oldest = now
			}
		}, func(f *fakeSources, _ time.Time) { f.oldest = time.Time{} }},
		{"outbox-backlog", func(f *fakeSources, _ time.Time) { f.depth = 20000 }, func(f *fakeSources, _ time.Time) { f.depth = 10 }},
		{"dead-letters", func(f *fakeSources, _ time.Time) { f.dead++ }, func(f *fakeSources, _ time.Time) {}},
		{"upload-failures", func(f *fakeSources, _ time.Time) { f.uploadFailures++ }, func(f *fakeSources, _ time.Time) {}},
		{"backup-failed", func(f *fakeSources, _ time.Time) { f.backup.Failed = true }, func(f *fakeSources, now time.Time) { f.backup.Failed, f.backup.Last = false, now }},
		{"backup-stale", func(f *fakeSources, _ time.Time) {}, func(f *fakeSources, now time.Time) { f.backup.Last = now }},
		{"search-lag", func(f *fakeSources, _ time.Time) { f.lag = 10 * time.Minute }, func(f *fakeSources, _ time.Time) { f.lag = 0 }},
		{"memory", func(f *fakeSources, _ time.Time) { f.memUsed = 95 }, func(f *fakeSources, _ time.Time) { f.memUsed = 50 }},
		{"cluster-node-unreachable", func(f *fakeSources, _ time.Time) { f.unreachable = 1 }, func(f *fakeSources, _ time.Time) { f.unreachable = 0 }},
		{"cluster-partition-unowned", func(f *fakeSources, _ time.Time) { f.unowned = 2 }, func(f *fakeSources, _ time.Time) { f.unowned = 0 }},
		{"cluster-replica-lag", func(f *fakeSources, _ time.Time) { f.replicaLag = 50000 }, func(f *fakeSources, _ time.Time) { f.replicaLag = 0 }},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.rule] = true
		t.Run(tc.rule, func(t *testing.T) {
			f := &fakeSources{}
			f.do(healthy)
			var rule *Rule
			for _, r := range Rules(f.sources()) {
				if r.Name == tc.rule {
					rule = r
				}
			}
			if rule == nil {
				t.Fatalf("no rule %s", tc.rule)
			}
			c, rec := newClock(t, rule)
			c.now = start
			step := func(fn func(*fakeSources, time.Time), d time.Duration) {
				for end := c.now.Add(d); c.now.Before(end); {
					f.do(func(f *fakeSources) { fn(f, c.now) })
					c.run(c.e.every())
				}
			}
			step(func(*fakeSources, time.Time) {}, time.Minute)
			if k := rec.kinds(); len(k) != 0 {
				t.Fatalf("healthy: %v", k)
			}
			step(tc.fault, 3*time.Hour) // past every rule's For, and backup-stale's 2 h
			if k := rec.kinds(); !equalKinds(k, Firing) {
				t.Fatalf("faulty: %v (%+v)", k, c.e.Statuses())
			}
			step(tc.fix, 2*time.Hour) // the windows (an hour at most) empty
			if k := rec.kinds(); !equalKinds(k, Firing, Resolved) {
				t.Fatalf("fixed: %v (%+v)", k, c.e.Statuses())
			}
		})
	}
	for _, n := range Names() {
		if !covered[n] {
			t.Errorf("rule %s has no case here", n)
		}
	}
}

// Too few requests in the window judge nothing: two failures out of
// three are not a 5xx storm.
func TestErrorShareNeedsEnoughRequests(t *testing.T) {
	f := &fakeSources{}
	rules, _ := Configure(Rules(Sources{Requests: f.sources().Requests}), "http-errors=5/0s")
	c, rec := newClock(t, rules...)
	c.run(c.e.every()) // the window starts
	f.do(func(f *fakeSources) { f.requests, f.failed = 3, 2 })
	c.run(time.Minute)
	if k := rec.kinds(); len(k) != 0 {
		t.Fatalf("2 of 3 requests failing fired %v", k)
	}
	f.do(func(f *fakeSources) { f.requests, f.failed = 43, 22 })
	c.run(c.e.every())
	if k := rec.kinds(); !equalKinds(k, Firing) {
		t.Fatalf("22 of 43 requests failing: %v", k)
	}
}

// A volume that reports no size is no reading, not 0 % free.
func TestDiskWithoutSizeIsNoReading(t *testing.T) {
	rules := Rules(Sources{Disk: func() (uint64, uint64, error) { return 0, 0, nil }})
	c, rec := newClock(t, rules...)
	c.run(10 * time.Minute)
	if k := rec.kinds(); len(k) != 0 || c.e.Statuses()[0].Value != nil {
		t.Fatalf("a volume of size 0: %v, %+v", k, c.e.Statuses()[0])
	}
}

func TestConfigure(t *testing.T) {
	f := &fakeSources{}
	rules, err := Configure(Rules(f.sources()), "disk-free-warning=20%/10m, upload-failures=off page-latency=2s,outbox-backlog=500,dead-letters=3")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*Rule{}
	for _, r := range rules {
		by[r.Name] = r
	}
	if r := by["disk-free-warning"]; r.Threshold != 20 || r.For != 10*time.Minute || r.Clear != 22 {
		t.Fatalf("disk-free-warning %+v", *r)
	}
	if high, _ := Configure(Rules(f.sources()), "disk-free-critical=90"); high[1].Clear != 91 {
		t.Fatalf("disk-free-critical=90 clears at %v, want 91 (the same margin; a ratio would never clear)", high[1].Clear)
	}
	if by["upload-failures"] != nil {
		t.Fatal("upload-failures=off left the rule on")
	}
	if r := by["page-latency"]; r.Threshold != 2 || r.Clear != 1.5 || r.For != 10*time.Minute {
		t.Fatalf("page-latency %+v", *r)
	}
	if r := by["outbox-backlog"]; r.Threshold != 500 || r.Clear != 250 {
		t.Fatalf("outbox-backlog %+v", *r)
	}
	if r := by["dead-letters"]; r.Threshold != 3 || r.Clear != 3 {
		t.Fatalf("dead-letters %+v", *r)
	}
	// A rule this server does not run is accepted (one config file for
	// every node), a misspelt one is not.
	if _, err := Configure(Rules(Sources{Requests: f.sources().Requests}), "cluster-replica-lag=5"); err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]string{
		"disk-free=10":          `there is no rule "disk-free"`,
		"disk-free-warning":     "name=value",
		"disk-free-warning=120": "percentage from 0 to 100",
		"page-latency=fast":     "duration like",
		"outbox-backlog=1.5":    "whole number",
		"memory=90/soon":        "for duration",
	} {
		if err := Check(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want %q", spec, err, want)
		}
	}
}

// The memory rule reads a cgroup v2 limit, less the inactive file cache,
// and falls back to the machine without one.
func TestSystemMemoryReadsTheCgroup(t *testing.T) {
	dir := t.TempDir()
	defer func(old string) { cgroupRoot = old }(cgroupRoot)
	cgroupRoot = dir
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("memory.max", "1073741824\n")
	write("memory.current", "900000000\n")
	write("memory.stat", "anon 700000000\nfile 200000000\ninactive_file 150000000\nactive_file 50000000\n")
	used, limit, err := SystemMemory()
	if err != nil || used != 750000000 || limit != 1073741824 {
		t.Fatalf("cgroup v2: %d of %d (%v)", used, limit, err)
	}
	// A systemd unit's own limit, below the root's view.
	defer func(old string) { procCgroup = old }(procCgroup)
	procCgroup = filepath.Join(dir, "self-cgroup")
	write("self-cgroup", "0::/system.slice/aperture.service\n")
	unit := filepath.Join(dir, "system.slice", "aperture.service")
	os.MkdirAll(unit, 0o700)
	os.WriteFile(filepath.Join(unit, "memory.max"), []byte("536870912\n"), 0o600)
	os.WriteFile(filepath.Join(unit, "memory.current"), []byte("300000000\n"), 0o600)
	if used, limit, err := SystemMemory(); err != nil || used != 300000000 || limit != 536870912 {
		t.Fatalf("a unit's limit: %d of %d (%v)", used, limit, err)
	}
	os.Remove(filepath.Join(unit, "memory.max"))
	write("memory.max", "max\n")
	used, limit, err = SystemMemory()
	if err != nil || limit == 1073741824 || limit == 0 || used > limit {
		t.Fatalf("without a limit: %d of %d (%v), want the machine's memory", used, limit, err)
	}
}

func TestVolumeSpace(t *testing.T) {
	free, total, err := VolumeSpace(t.TempDir())
	if err != nil || total == 0 || free > total {
		t.Fatalf("%d free of %d (%v)", free, total, err)
	}
	if _, _, err := VolumeSpace(filepath.Join(t.TempDir(), "nothing")); err == nil {
		t.Fatal("a missing directory has space")
	}
}
