package alerts

import (
	"context"
	"sync"
	"testing"
	"time"
)

// recorder is a channel that keeps what it is sent.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Send(_ context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EventKind
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

// gauge is a value a rule reads, set by the test.
type gauge struct {
	mu sync.Mutex
	v  float64
}

func (g *gauge) set(v float64) { g.mu.Lock(); g.v = v; g.mu.Unlock() }
func (g *gauge) read(time.Time) (float64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.v, nil
}

// clock steps an engine through time, one reading every Every.
type clock struct {
	t   *testing.T
	e   *Engine
	now time.Time
}

func (c *clock) run(d time.Duration) {
	c.t.Helper()
	for end := c.now.Add(d); c.now.Before(end); {
		c.now = c.now.Add(c.e.every())
		c.e.Evaluate(context.Background(), c.now)
		c.e.Wait()
	}
}

func (c *clock) state(name string) State {
	for _, s := range c.e.Statuses() {
		if s.Name == name {
			return s.State
		}
	}
	c.t.Fatalf("no rule %s", name)
	return ""
}

func newClock(t *testing.T, rules ...*Rule) (*clock, *recorder) {
	rec := &recorder{}
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	return &clock{t: t, e: New(rules, []Channel{rec}, "https://photos.example", nil, start), now: start}, rec
}

func equalKinds(a []EventKind, b ...EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ok → pending → firing → resolved, one notification at each end, and
// the state changes in the history, newest first.
func TestRuleFiresAfterForAndResolvesPastClear(t *testing.T) {
	g := &gauge{v: 50}
	c, rec := newClock(t, &Rule{Name: "r", Summary: "R is high", Severity: Warning, Unit: Percent, Threshold: 90, Clear: 85, For: 5 * time.Minute, Read: g.read})
	c.run(time.Minute)
	if c.state("r") != StateOK {
		t.Fatalf("state %s at 50 %%", c.state("r"))
	}
	g.set(95)
	c.run(4 * time.Minute)
	if c.state("r") != StatePending || len(rec.kinds()) != 0 {
		t.Fatalf("after 4 min past the threshold: %s, %v", c.state("r"), rec.kinds())
	}
	c.run(90 * time.Second)
	if c.state("r") != StateFiring || !equalKinds(rec.kinds(), Firing) {
		t.Fatalf("after 5.5 min: %s, %v", c.state("r"), rec.kinds())
	}
	if e := rec.events[0]; e.Value != 95 || e.Threshold != 90 || e.Title() != "Firing: R is high" || e.Instance != "https://photos.example" {
		t.Fatalf("firing event %+v (%q)", e, e.Title())
	}
	// Between clear and threshold it keeps firing (hysteresis).
	g.set(87)
	c.run(30 * time.Minute)
	if c.state("r") != StateFiring || len(rec.kinds()) != 1 {
		t.Fatalf("at 87 %% (clear 85): %s, %v", c.state("r"), rec.kinds())
	}
	g.set(80)
	c.run(4 * time.Minute)
	if c.state("r") != StateFiring {
		t.Fatalf("resolved after 4 min within clear, want For (5 min): %s", c.state("r"))
	}
	c.run(90 * time.Second)
	if c.state("r") != StateResolved || !equalKinds(rec.kinds(), Firing, Resolved) {
		t.Fatalf("after 5.5 min within clear: %s, %v", c.state("r"), rec.kinds())
	}
	c.run(time.Hour)
	if c.state("r") != StateOK {
		t.Fatalf("an hour after resolving: %s", c.state("r"))
	}
	h := c.e.History()
	want := []State{StateOK, StateResolved, StateFiring, StatePending}
	if len(h) != len(want) {
		t.Fatalf("history %+v", h)
	}
	for i, s := range want {
		if h[i].To != s {
			t.Fatalf("history[%d] = %+v, want to %s", i, h[i], s)
		}
	}
}

// A spike shorter than For pages no one; a value flapping across the
// threshold every reading never fires; one flapping across the clear
// level while firing does not resolve and fire again.
func TestNoNotificationStorm(t *testing.T) {
	g := &gauge{}
	c, rec := newClock(t, &Rule{Name: "r", Unit: Count, Threshold: 10, Clear: 5, For: time.Minute, Read: g.read})
	g.set(100)
	c.run(45 * time.Second)
	g.set(0)
	c.run(time.Minute)
	for i := range 200 {
		g.set(float64(i%2) * 100)
		c.run(c.e.every())
	}
	if k := rec.kinds(); len(k) != 0 {
		t.Fatalf("spikes and flapping sent %v", k)
	}
	g.set(100)
	c.run(2 * time.Minute)
	for i := range 200 {
		g.set(float64(i%2) * 100) // 0, 100, 0, …: never four clear readings in a row
		c.run(c.e.every())
	}
	if k := rec.kinds(); !equalKinds(k, Firing) {
		t.Fatalf("flapping while firing sent %v", k)
	}
}

// A rule that keeps firing is notified again every Remind, not more.
func TestReminderWhileFiring(t *testing.T) {
	g := &gauge{v: 1}
	c, rec := newClock(t, &Rule{Name: "r", Unit: Count, Threshold: 0, Read: g.read})
	c.run(2*Remind + 30*time.Minute)
	if k := rec.kinds(); !equalKinds(k, Firing, Reminder, Reminder) {
		t.Fatalf("%v over 8.5 h of firing", k)
	}
	if e := rec.events[1]; !e.Since.Equal(rec.events[0].At) || e.Title() != "Still firing: " {
		t.Fatalf("reminder %+v (%q)", e, e.Title())
	}
}

// A failed reading keeps the rule's state and shows the error; a reading
// that says there is nothing to judge shows none.
func TestFailedReadingKeepsState(t *testing.T) {
	fail := false
	r := &Rule{Name: "r", Unit: Count, Threshold: 0, Read: func(time.Time) (float64, error) {
		if fail {
			return 0, context.DeadlineExceeded
		}
		return 1, nil
	}}
	c, rec := newClock(t, r)
	c.run(c.e.every())
	fail = true
	c.run(time.Hour)
	st := c.e.Statuses()[0]
	if st.State != StateFiring || st.Error == "" || len(rec.kinds()) != 1 {
		t.Fatalf("after an hour of failed readings: %+v, %v", st, rec.kinds())
	}
}
