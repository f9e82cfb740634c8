package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// The HTTP edge: the reverse proxies whose client headers are believed,
// and the metrics' own listener.

// parseTrustedProxies reads --trusted-proxies: addresses or CIDR ranges,
// by commas. It fails naming the first that is neither.
func parseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or a CIDR range", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// checkProxyHeader refuses a --proxy-header other than X-Forwarded-For
// and Forwarded.
func checkProxyHeader(h string) error {
	if strings.EqualFold(h, "X-Forwarded-For") || strings.EqualFold(h, "Forwarded") {
		return nil
	}
	return fmt.Errorf("--proxy-header must be X-Forwarded-For or Forwarded (RFC 7239), not %q", h)
}

// listenMetrics opens --metrics-addr, when set, so that a taken address
// fails at start like the main one.
func (m *Main) listenMetrics() error {
	if m.Config.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.Config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s for metrics: %w", m.Config.MetricsAddr, err)
	}
	m.metricsLn = ln
	return nil
}

// serveMetrics serves the metrics on their own listener, if there is one.
func (m *Main) serveMetrics() {
	if m.metricsLn == nil {
		return
	}
	m.metricsSrv = &http.Server{Handler: m.srv.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go m.metricsSrv.Serve(m.metricsLn)
	m.log.Info("serving metrics", "addr", m.metricsLn.Addr().String(), "token", m.Config.MetricsToken != "")
}

// closeMetrics stops the metrics listener.
func (m *Main) closeMetrics() {
	switch {
	case m.metricsSrv != nil:
		m.metricsSrv.Close()
	case m.metricsLn != nil:
		m.metricsLn.Close()
	}
}
