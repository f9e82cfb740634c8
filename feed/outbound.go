package feed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Every call aperture makes to an address a person gave it — webhook
// callbacks and Web Push services — goes through Webhooks.client: the
// name is resolved here, every address it resolves to is checked with
// Public (or the Allow list), and the connection is made to the checked
// address itself, so a second lookup cannot swap it (DNS rebinding).
// Redirects are not followed and no proxy is used.

// RefusedError is returned for a call to an address aperture does not
// call. Its Error is safe to show: it never names the address a host
// name resolved to; LogValue does, for the log.
type RefusedError struct {
	Host  string     // as written in the URL
	Addr  netip.Addr // the refused address
	Range string     // why, like "Private-Use (10.0.0.0/8)"
}

// Error says that the host is not public, without the address.
func (e *RefusedError) Error() string {
	if _, err := netip.ParseAddr(e.Host); err == nil {
		return "the address is not public"
	}
	return e.Host + " resolves to an address that is not public"
}

// LogValue is the whole story, for the server's log.
func (e *RefusedError) LogValue() slog.Value {
	return slog.StringValue(fmt.Sprintf("%s resolves to %s, refused: %s", e.Host, e.Addr, e.Range))
}

// CallError is a failed outbound call. Error is a sentence fragment safe
// to show the person who gave the address ("hooks.example refused the
// connection"): no resolved address, resolver address or raw dial error.
// The cause stays available to errors.As and to the log.
type CallError struct {
	Msg string
	Err error
}

// Error returns the safe sentence fragment.
func (e *CallError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Err }

// LogValue adds the cause, for the server's log.
func (e *CallError) LogValue() slog.Value {
	var refused *RefusedError
	if errors.As(e.Err, &refused) {
		return slog.StringValue(e.Msg + ": " + refused.LogValue().String())
	}
	return slog.StringValue(e.Msg + ": " + e.Err.Error())
}

// lookupError is a failed name resolution.
type lookupError struct {
	host string
	err  error
}

func (e *lookupError) Error() string { return "cannot resolve " + e.host + ": " + e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

// callError turns the error of a call to rawURL into a CallError whose
// sentence says what happened in terms of the URL's host (host names are
// named, literal addresses are not). A nil error stays nil.
func callError(rawURL string, err error) error {
	if err == nil {
		return nil
	}
	var ce *CallError
	if errors.As(err, &ce) {
		return ce
	}
	who := "the host"
	if u, perr := url.Parse(rawURL); perr == nil && u.Hostname() != "" {
		if _, aerr := netip.ParseAddr(u.Hostname()); aerr != nil {
			who = u.Hostname()
		}
	}
	var refused *RefusedError
	var lookup *lookupError
	var urlErr *url.Error
	if !errors.As(err, &refused) && !errors.As(err, &lookup) && !errors.As(err, &urlErr) {
		return err // not a network failure (a push message that cannot be encrypted, say)
	}
	var dnsErr *net.DNSError
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	msg := who + " could not be reached"
	switch {
	case errors.As(err, &refused):
		msg = refused.Error()
	case errors.As(err, &lookup) && errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		msg = "there is no host called " + lookup.host
	case errors.As(err, &lookup):
		msg = "the name " + lookup.host + " could not be looked up"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		msg = who + " did not answer in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = who + " refused the connection"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		msg = who + " closed the connection without answering"
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &badCert), errors.As(err, &verify):
		msg = who + " has a TLS certificate that is not valid for it"
	case errors.As(err, &record), strings.Contains(err.Error(), "HTTP response to HTTPS client"):
		msg = who + " does not speak HTTPS on that port"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		msg = who + " is unreachable from this server"
	}
	return &CallError{Msg: msg, Err: err}
}

// statusError is the sentence fragment for an unwanted HTTP answer: the
// code and its standard text, never the peer's own reason phrase.
func statusError(what string, code int) error {
	return &CallError{Msg: fmt.Sprintf("%s answered %d %s", what, code, http.StatusText(code)),
		Err: fmt.Errorf("status %d", code)}
}

func (w *Webhooks) timeout() time.Duration {
	if w.Timeout <= 0 {
		return 5 * time.Second
	}
	return w.Timeout
}

// allowed reports whether an address may be called: named by Allow, or
// Public.
func (w *Webhooks) allowed(a netip.Addr) (bool, string) {
	a = a.Unmap()
	for _, p := range w.Allow {
		if p.Contains(a) || p.Contains(a.WithZone("")) {
			return true, ""
		}
	}
	return Public(a)
}

// dial resolves host, refuses it unless every address it resolves to is
// allowed, and connects to those checked addresses in turn (never
// resolving again).
func (w *Webhooks) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		resolve := w.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, h string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			}
		}
		if addrs, err = resolve(ctx, host); err != nil {
			return nil, &lookupError{host: host, err: err}
		}
	}
	if len(addrs) == 0 {
		return nil, &lookupError{host: host, err: &net.DNSError{Err: "no address", Name: host, IsNotFound: true}}
	}
	for i, a := range addrs {
		ok, why := w.allowed(a)
		if !ok {
			return nil, &RefusedError{Host: host, Addr: a, Range: why}
		}
		addrs[i] = a.Unmap()
	}
	var d net.Dialer
	var conn net.Conn
	for _, a := range addrs {
		if conn, err = d.DialContext(ctx, network, net.JoinHostPort(a.String(), port)); err == nil {
			return conn, nil
		}
	}
	return nil, err
}

// client is the HTTP client of every outbound call: it dials through dial,
// uses no proxy, follows no redirect and gives a call timeout() in all.
func (w *Webhooks) client() *http.Client {
	return &http.Client{
		Timeout: w.timeout(),
		Transport: &http.Transport{DialContext: w.dial, Proxy: nil, DisableKeepAlives: true,
			ResponseHeaderTimeout: w.timeout(), TLSHandshakeTimeout: w.timeout()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Client returns an HTTP client that calls only the addresses this
// Webhooks allows (see the comment above RefusedError): for other
// callers of addresses an operator or a person gave, like the alerts'
// webhook.
func (w *Webhooks) Client() *http.Client { return w.client() }
