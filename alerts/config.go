package alerts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Configure applies an operator's thresholds to rules and returns the
// rules left on. spec is a list, by commas or spaces, of
//
//	name=threshold        disk-free-warning=20
//	name=threshold/for    page-latency=2s/15m
//	name=off              upload-failures=off
//
// Percentages are numbers (a % sign may follow), times are durations
// (90s, 10m, 48h), counts are whole numbers. A rule's clear level keeps
// its ratio to the threshold (a rule whose threshold was 0 clears at the
// new threshold); a rule that fires below its threshold keeps the same
// margin above it instead. It fails naming the first entry that is not a rule, or
// whose value does not read.
func Configure(rules []*Rule, spec string) ([]*Rule, error) {
	byName := map[string]*Rule{}
	for _, r := range rules {
		byName[r.Name] = r
	}
	off := map[string]bool{}
	for _, f := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		name, val, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("alert threshold %q: write it as name=value, like disk-free-warning=20", f)
		}
		r := byName[name]
		if r == nil {
			if known(name) {
				continue // a rule this server does not run (no backups, no cluster)
			}
			return nil, fmt.Errorf("alert threshold %q: there is no rule %q (the rules: %s)", f, name, strings.Join(Names(), ", "))
		}
		if val == "off" {
			off[name] = true
			continue
		}
		th, forStr, hasFor := strings.Cut(val, "/")
		v, err := r.Unit.parse(th)
		if err != nil {
			return nil, fmt.Errorf("alert threshold %q: %v", f, err)
		}
		if hasFor {
			d, err := time.ParseDuration(forStr)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("alert threshold %q: the for duration %q is not a duration like 5m", f, forStr)
			}
			r.For = d
		}
		switch {
		case r.Below:
			r.Clear = v + (r.Clear - r.Threshold) // free space: the same margin above, not a ratio (90 % must not clear at 102 %)
		case r.Threshold == 0:
			r.Clear = v
		default:
			r.Clear *= v / r.Threshold
		}
		r.Threshold = v
	}
	return slices.DeleteFunc(rules, func(r *Rule) bool { return off[r.Name] }), nil
}

// parse reads a threshold written in unit u.
func (u Unit) parse(s string) (float64, error) {
	switch u {
	case Seconds:
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration like 90s or 10m", s)
		}
		return d.Seconds(), nil
	case Percent:
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || v < 0 || v > 100 {
			return 0, fmt.Errorf("%q is not a percentage from 0 to 100", s)
		}
		return v, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return float64(v), nil
}

// Names returns the names of every built-in rule.
func Names() []string {
	all := allRules()
	out := make([]string, len(all))
	for i, r := range all {
		out[i] = r.Name
	}
	return out
}

// allRules returns every built-in rule, over sources that read nothing.
func allRules() []*Rule {
	return Rules(Sources{Disk: func() (uint64, uint64, error) { return 0, 0, nil }, Requests: func() (uint64, uint64) { return 0, 0 },
		Pages: &Histogram{}, Outbox: func() (int, time.Time, int, error) { return 0, time.Time{}, 0, nil },
		UploadFailures: func() uint64 { return 0 }, Backups: func() BackupStatus { return BackupStatus{Every: time.Hour} },
		SearchLag: func() (time.Duration, error) { return 0, nil }, Memory: func() (uint64, uint64, error) { return 0, 0, nil },
		Cluster: func(context.Context) (ClusterHealth, error) { return ClusterHealth{}, nil }})
}

func known(name string) bool { return slices.Contains(Names(), name) }

// Check reports whether spec reads as thresholds (see Configure), for
// the server's flag.
func Check(spec string) error {
	_, err := Configure(allRules(), spec)
	return err
}
