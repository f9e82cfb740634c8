package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// chart draws one series of the last 24 hours as an SVG line chart with
// its latest value and its peak, for the admin dashboard. No script, no
// library: a path in a 600×120 box.
func chart(title, unit string, samples []Sample, value func(Sample) float64) template.HTML {
	const w, h, pad = 600.0, 120.0, 4.0
	var b strings.Builder
	peak, last := 0.0, 0.0
	for _, s := range samples {
		peak = math.Max(peak, value(s))
	}
	if len(samples) > 0 {
		last = value(samples[len(samples)-1])
	}
	scale := peak
	if scale == 0 {
		scale = 1
	}
	end := time.Now()
	if len(samples) > 0 {
		end = samples[len(samples)-1].At
	}
	start := end.Add(-24 * time.Hour)
	fmt.Fprintf(&b, `<figure class="chart"><figcaption><b>%s</b> <span class="muted">now %s · peak %s</span></figcaption>`,
		template.HTMLEscapeString(title), human(last, unit), human(peak, unit))
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="%s over the last 24 hours, now %s, peak %s">`,
		w, h+16, template.HTMLEscapeString(title), human(last, unit), human(peak, unit))
	fmt.Fprintf(&b, `<line class="axis" x1="0" y1="%.0f" x2="%.0f" y2="%.0f"></line>`, h, w, h)
	if len(samples) > 0 {
		b.WriteString(`<path class="line" d="`)
		for i, s := range samples {
			x := (s.At.Sub(start).Seconds() / (24 * 3600)) * w
			y := h - pad - (value(s)/scale)*(h-2*pad)
			if i == 0 {
				fmt.Fprintf(&b, "M%.1f %.1f", x, y)
			} else {
				fmt.Fprintf(&b, "L%.1f %.1f", x, y)
			}
		}
		b.WriteString(`"></path>`)
	}
	for i, label := range []string{"24 h ago", "12 h ago", "now"} {
		anchor := []string{"start", "middle", "end"}[i]
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="%s">%s</text>`, float64(i)*w/2, h+13, anchor, label)
	}
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// human writes a value with its unit: 1.2 MB, 3.4 /min, 12 ms.
func human(v float64, unit string) string {
	if unit == "bytes" {
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.1f GB", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.1f MB", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.0f KB", v/1e3)
		}
		return fmt.Sprintf("%.0f B", v)
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// dashboardCharts are the admin dashboard's charts. The rates come from
// the closed minutes only; the levels (queue depth and bytes on disk) end
// with now, a reading taken for the page, so they are right before the
// first minute closes.
func dashboardCharts(samples []Sample, now Sample) []template.HTML {
	levels := append(samples[:len(samples):len(samples)], now)
	return []template.HTML{
		chart("Requests", "/s", samples, func(s Sample) float64 { return s.Requests }),
		chart("p99 latency", "ms", samples, func(s Sample) float64 { return s.P99ms }),
		chart("Errors (5xx)", "/min", samples, func(s Sample) float64 { return s.Errors }),
		chart("Sign-ups", "/min", samples, func(s Sample) float64 { return s.Signups }),
		chart("Posts", "/min", samples, func(s Sample) float64 { return s.Posts }),
		chart("Background queue", "jobs", levels, func(s Sample) float64 { return s.Queue }),
		chart("Database", "bytes", levels, func(s Sample) float64 { return s.DBBytes }),
		chart("Search index", "bytes", levels, func(s Sample) float64 { return s.IndexBytes }),
		chart("Photos", "bytes", levels, func(s Sample) float64 { return s.MediaBytes }),
	}
}
