// Package alerts watches the instance and tells its administrators when
// something leaves its normal range: rules read a measurement every 15
// seconds, wait out a `for` duration before firing, clear only past a
// lower level (hysteresis), and send one notification when they fire and
// one when they resolve, through Web Push to every admin, a webhook and
// e-mail.
//
// The package owns the rules, their states and the channels; what a rule
// reads is given to it as a function (Sources), so the engine needs no
// store, index or web server to be tested.
package alerts

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// State is where a rule stands.
type State string

// A rule is ok until its value crosses the threshold (pending); it fires
// when the value stays past it for the rule's For; it resolves when the
// value has stayed on the good side of the clear level for For (or four
// readings, a minute at the default rate, if For is shorter), and shows
// resolved for an hour, or until the value crosses again.
const (
	StateOK       State = "ok"
	StatePending  State = "pending"
	StateFiring   State = "firing"
	StateResolved State = "resolved"
)

// Severity says how soon someone should look.
type Severity string

// Severities of the rules: a warning can wait for the morning; a critical
// cannot.
const (
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Unit is how a rule's value and threshold are written.
type Unit string

// Units of the rules' values.
const (
	Percent Unit = "%"
	Seconds Unit = "s"
	Count   Unit = ""
)

// Format writes v in unit u: "12.5 %", "1.2 s", "30 min", "3".
func (u Unit) Format(v float64) string {
	switch u {
	case Percent:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + " %"
	case Seconds:
		d := time.Duration(v * float64(time.Second))
		switch {
		case d >= time.Hour:
			return strconv.FormatFloat(math.Round(d.Hours()*10)/10, 'f', -1, 64) + " h"
		case d >= time.Minute:
			return strconv.FormatFloat(math.Round(d.Minutes()*10)/10, 'f', -1, 64) + " min"
		case d >= time.Second:
			return strconv.FormatFloat(math.Round(d.Seconds()*10)/10, 'f', -1, 64) + " s"
		}
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// ErrNoReading is returned by a rule's Read when there is nothing to
// judge yet (too few requests in the window, a feature not in use): the
// rule keeps its state.
var ErrNoReading = fmt.Errorf("no reading")

// Rule is one condition that is watched.
type Rule struct {
	// Name is the rule's name in the config, the API and notifications:
	// "disk-free-warning".
	Name string
	// Summary says in a sentence what firing means: "Free space on the
	// data volume is low".
	Summary  string
	Severity Severity
	Unit     Unit
	// Below fires when the value is under Threshold (free space); rules
	// fire above it otherwise.
	Below bool
	// Threshold is where the rule starts pending; Clear is where it
	// resolves (below Threshold for a rule that fires above, above it for
	// one that fires below).
	Threshold, Clear float64
	// For is how long the value must stay past Threshold before the rule
	// fires.
	For time.Duration
	// Read measures the value now, or returns ErrNoReading.
	Read func(now time.Time) (float64, error)
}

// breached reports whether v is past the threshold.
func (r *Rule) breached(v float64) bool {
	if r.Below {
		return v < r.Threshold
	}
	return v > r.Threshold
}

// cleared reports whether v is on the good side of the clear level.
func (r *Rule) cleared(v float64) bool {
	if r.Below {
		return v >= r.Clear
	}
	return v <= r.Clear
}
