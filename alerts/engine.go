package alerts

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Every is how often the engine reads its rules, unless told otherwise
// (Engine.Every).
const Every = 15 * time.Second

// clearReadings is how many readings in a row a firing rule must be back
// within its clear level, at least, before it resolves (one minute at
// the default Every).
const clearReadings = 4

// Remind is how often a rule that keeps firing is notified again.
const Remind = 4 * time.Hour

// resolvedShown is how long a resolved rule shows as resolved before it
// is ok again.
const resolvedShown = time.Hour

// testRule is the rule name of a test event.
const testRule = "test"

// historyKept is how many state changes the engine remembers.
const historyKept = 50

// Status is one rule as it stands, for the admin page and the API.
type Status struct {
	Name      string   `json:"name"`
	Summary   string   `json:"summary"`
	Severity  Severity `json:"severity"`
	State     State    `json:"state"`
	Value     *float64 `json:"value" doc:"The last reading; null before the first one"`
	Threshold float64  `json:"threshold"`
	Clear     float64  `json:"clear" doc:"Where a firing rule resolves"`
	Below     bool     `json:"below" doc:"The rule fires under its threshold, not above it"`
	Unit      Unit     `json:"unit" doc:"%, s, or empty for a count"`
	For       float64  `json:"for_s" doc:"Seconds past the threshold before it fires"`
	// Since is when the rule entered its state (the engine's start for a
	// rule that has always been ok).
	Since time.Time `json:"since"`
	// Error is why the last reading failed, if it did.
	Error string `json:"error,omitempty"`
}

// Change is one state change of a rule.
type Change struct {
	Name  string    `json:"name"`
	From  State     `json:"from"`
	To    State     `json:"to"`
	Value float64   `json:"value"`
	At    time.Time `json:"at"`
}

// Event is what a channel is told: a rule fired, is still firing, or
// resolved; or a test sent by an admin.
type Event struct {
	Kind     EventKind
	Rule     string
	Summary  string
	Severity Severity
	Value    float64
	// Threshold and Unit say what the value is compared with.
	Threshold float64
	Unit      Unit
	Below     bool
	At        time.Time
	// Since is when the rule fired (for a reminder and a resolve).
	Since time.Time
	// Instance is the instance's public address, when it has one.
	Instance string
}

// EventKind is why an event is sent.
type EventKind string

// The kinds of events.
const (
	Firing   EventKind = "firing"
	Reminder EventKind = "reminder"
	Resolved EventKind = "resolved"
	Test     EventKind = "test"
)

// Title is the event's one-line subject: "Firing: Free space on the data
// volume is low".
func (e Event) Title() string {
	switch e.Kind {
	case Resolved:
		return "Resolved: " + e.Summary
	case Reminder:
		return "Still firing: " + e.Summary
	case Test:
		return "Test: aperture can reach you"
	}
	return "Firing: " + e.Summary
}

// Text is the event in a sentence or two, for push, e-mail and the
// webhooks' summaries.
func (e Event) Text() string {
	if e.Kind == Test {
		return "An administrator sent this test from the Alerts page. Alerts will arrive here the same way."
	}
	cmp := "above"
	if e.Below {
		cmp = "below"
	}
	s := e.Rule + " is " + e.Unit.Format(e.Value)
	switch e.Kind {
	case Resolved:
		s += ", back within range (threshold " + e.Unit.Format(e.Threshold) + "), after " + e.At.Sub(e.Since).Round(time.Second).String() + "."
	default:
		s += ", " + cmp + " its threshold of " + e.Unit.Format(e.Threshold)
		if e.Kind == Reminder {
			s += ", since " + e.Since.UTC().Format("2006-01-02 15:04 UTC")
		}
		s += "."
	}
	return s
}

// Channel delivers events somewhere: admins' browsers, a webhook, a
// mailbox.
type Channel interface {
	// Name names the channel for the admin page: "push", "webhook",
	// "email".
	Name() string
	// Send delivers one event, or returns why it could not.
	Send(ctx context.Context, e Event) error
}

// ruleState is the engine's memory of one rule.
type ruleState struct {
	state State
	since time.Time // when it entered state
	// past is when the value last crossed the threshold (pending) or
	// last came back within clear (firing), zero when it is not.
	past     time.Time
	firedAt  time.Time
	notified time.Time // last firing or reminder sent
	value    float64
	read     bool
	err      string
}

// Engine reads its rules every Every and notifies its channels.
type Engine struct {
	rules    []*Rule
	channels []Channel
	instance string
	log      *slog.Logger
	// Every is how often Run reads the rules (the package's Every when
	// zero). A firing rule resolves after For or clearReadings readings
	// within its clear level, whichever is longer.
	Every time.Duration

	mu      sync.Mutex
	states  map[string]*ruleState
	history []Change // newest last
	sends   sync.WaitGroup
}

// New returns an engine for rules, telling channels, started at now
// (every rule ok since then). instance is the public address put into
// events; log gets the failures of channels.
func New(rules []*Rule, channels []Channel, instance string, log *slog.Logger, now time.Time) *Engine {
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{rules: rules, channels: channels, instance: instance, log: log, states: map[string]*ruleState{}}
	for _, r := range rules {
		e.states[r.Name] = &ruleState{state: StateOK, since: now}
	}
	return e
}

// Channels returns the names of the engine's channels.
func (e *Engine) Channels() []string {
	out := make([]string, len(e.channels))
	for i, c := range e.channels {
		out[i] = c.Name()
	}
	return out
}

// Run evaluates the rules every Every until ctx ends, then waits for the
// notifications under way.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.every())
	defer t.Stop()
	defer e.sends.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.Evaluate(ctx, now)
		}
	}
}

// Interval returns how often Run reads the rules.
func (e *Engine) Interval() time.Duration { return e.every() }

func (e *Engine) every() time.Duration {
	if e.Every > 0 {
		return e.Every
	}
	return Every
}

// Evaluate reads every rule once at now, moves their states and sends
// the notifications that are due (in the background; Wait waits for
// them).
func (e *Engine) Evaluate(ctx context.Context, now time.Time) {
	for _, r := range e.rules {
		v, err := r.Read(now)
		e.mu.Lock()
		ev := e.step(r, e.states[r.Name], v, err, now)
		e.mu.Unlock()
		if ev != nil {
			e.send(ctx, *ev)
		}
	}
}

// step moves one rule's state on a reading and returns the event to
// send, if any. e.mu is held.
func (e *Engine) step(r *Rule, s *ruleState, v float64, err error, now time.Time) *Event {
	if err != nil {
		if !errors.Is(err, ErrNoReading) {
			s.err = err.Error()
		}
		return nil
	}
	s.value, s.read, s.err = v, true, ""
	event := func(kind EventKind) *Event {
		return &Event{Kind: kind, Rule: r.Name, Summary: r.Summary, Severity: r.Severity, Value: v, Threshold: r.Threshold,
			Unit: r.Unit, Below: r.Below, At: now, Since: s.firedAt, Instance: e.instance}
	}
	switch s.state {
	case StateOK, StateResolved:
		if r.breached(v) {
			e.move(r, s, StatePending, v, now)
			s.past = now
			if r.For > 0 {
				return nil
			}
		} else {
			if s.state == StateResolved && now.Sub(s.since) >= resolvedShown {
				e.move(r, s, StateOK, v, now)
			}
			return nil
		}
		fallthrough
	case StatePending:
		if !r.breached(v) {
			e.move(r, s, StateOK, v, now)
			return nil
		}
		if now.Sub(s.past) < r.For {
			return nil
		}
		e.move(r, s, StateFiring, v, now)
		s.firedAt, s.notified, s.past = now, now, time.Time{}
		return event(Firing)
	case StateFiring:
		if !r.cleared(v) {
			s.past = time.Time{}
			if now.Sub(s.notified) >= Remind {
				s.notified = now
				return event(Reminder)
			}
			return nil
		}
		if s.past.IsZero() {
			s.past = now
		}
		if now.Sub(s.past) < max(r.For, clearReadings*e.every()) {
			return nil
		}
		ev := event(Resolved)
		e.move(r, s, StateResolved, v, now)
		return ev
	}
	return nil
}

// move records a state change. e.mu is held.
func (e *Engine) move(r *Rule, s *ruleState, to State, v float64, now time.Time) {
	c := Change{Name: r.Name, From: s.state, To: to, Value: v, At: now}
	s.state, s.since = to, now
	e.history = append(e.history, c)
	if len(e.history) > historyKept {
		e.history = e.history[len(e.history)-historyKept:]
	}
}

// send delivers ev to every channel, each in its own goroutine so that a
// slow one delays neither the others nor the next evaluation.
func (e *Engine) send(ctx context.Context, ev Event) {
	for _, c := range e.channels {
		e.sends.Add(1)
		go func() {
			defer e.sends.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := c.Send(ctx, ev); err != nil {
				e.log.Warn("alert notification failed", "channel", c.Name(), "rule", ev.Rule, "kind", string(ev.Kind), "err", err)
			}
		}()
	}
}

// Wait waits for the notifications under way.
func (e *Engine) Wait() { e.sends.Wait() }

// Statuses returns every rule as it stands, in the engine's order.
func (e *Engine) Statuses() []Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Status, len(e.rules))
	for i, r := range e.rules {
		s := e.states[r.Name]
		out[i] = Status{Name: r.Name, Summary: r.Summary, Severity: r.Severity, State: s.state, Threshold: r.Threshold, Clear: r.Clear,
			Below: r.Below, Unit: r.Unit, For: r.For.Seconds(), Since: s.since, Error: s.err}
		if s.read {
			v := s.value
			out[i].Value = &v
		}
	}
	return out
}

// History returns the last 50 state changes, newest first.
func (e *Engine) History() []Change {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Change, len(e.history))
	for i, c := range e.history {
		out[len(out)-1-i] = c
	}
	return out
}

// ChannelResult is how one channel took a test.
type ChannelResult struct {
	Channel string `json:"channel"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// SendTest sends a test event through every channel and waits for each,
// returning how each went.
func (e *Engine) SendTest(ctx context.Context, now time.Time) []ChannelResult {
	out := make([]ChannelResult, len(e.channels))
	var wg sync.WaitGroup
	for i, c := range e.channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			err := c.Send(ctx, Event{Kind: Test, Rule: testRule, Summary: "Test notification", At: now, Instance: e.instance})
			out[i] = ChannelResult{Channel: c.Name(), OK: err == nil}
			if err != nil {
				out[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	return out
}
