package alerts

import (
	"sync"
	"time"
)

// window remembers readings of cumulative counters over a span, so that a
// rule can judge what happened in the last minutes: the 5xx share of the
// last five, the dead letters of the last hour. Counters are read at each
// evaluation; the window keeps what is younger than its span, and one
// reading older, as the start.
type window struct {
	span time.Duration

	mu   sync.Mutex
	seen []windowReading // oldest first
}

type windowReading struct {
	at time.Time
	v  []float64
}

// delta records the counters v at now and returns how much each grew
// since the window's start (the reading closest to now−span, not after
// it; the first reading when the window is younger), and the time that
// covers. A counter that went down (a restart) counts from zero.
func (w *window) delta(now time.Time, v ...float64) ([]float64, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, windowReading{at: now, v: append([]float64(nil), v...)})
	cut := now.Add(-w.span)
	for len(w.seen) > 2 && !w.seen[1].at.After(cut) {
		w.seen = w.seen[1:]
	}
	start := w.seen[0]
	out := make([]float64, len(v))
	for i := range v {
		if i < len(start.v) && v[i] >= start.v[i] {
			out[i] = v[i] - start.v[i]
		} else {
			out[i] = v[i]
		}
	}
	return out, now.Sub(start.at)
}
