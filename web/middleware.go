package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"aperture/web/auth"
)

// reqInfo travels with each request (as a fiber local, which huma exposes
// through the handler's context): its ID, arrival time, the signed-in
// user, and an internal error to log.
type reqInfo struct {
	id     string
	start  time.Time
	ip     string // the client's address (see clientIPs)
	proxy  string // the proxy that named it, if one did
	claims auth.Claims
	authed bool
	// byCookie marks a browser session signed in by cookies (see
	// cookieSession): its state-changing calls need a CSRF token.
	byCookie bool
	page     bool  // an HTML page: post views are built in full
	authErr  error // a bearer token was sent and refused
	reported bool  // a panic already went to the error tracker
	err      error
}

type reqKey struct{}

func requestInfo(c *fiber.Ctx) *reqInfo {
	ri, _ := c.Locals(reqKey{}).(*reqInfo)
	return ri
}

func infoFrom(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(reqKey{}).(*reqInfo)
	return ri
}

// now returns the request's arrival time: the one time its commands carry.
func now(ctx context.Context) time.Time {
	if ri := infoFrom(ctx); ri != nil {
		return ri.start
	}
	return time.Now()
}

// viewer returns the signed-in user's claims, if any.
func viewer(ctx context.Context) (auth.Claims, bool) {
	if ri := infoFrom(ctx); ri != nil && ri.authed {
		return ri.claims, true
	}
	return auth.Claims{}, false
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestContext stamps the request with an ID (reusing a sane incoming
// X-Request-ID), its arrival time and its client's address, and echoes
// the ID.
func requestContext(ips *clientIPs) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Get("X-Request-ID")
		if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r < '!' || r > '~' }) {
			id = newRequestID()
		}
		ri := &reqInfo{id: id, start: time.Now().UTC()}
		ri.ip, ri.proxy = ips.of(c)
		c.Locals(reqKey{}, ri)
		c.Set("X-Request-ID", id)
		return c.Next()
	}
}

// ErrorReport is a 5xx answer or a panic, for an error tracker.
type ErrorReport struct {
	RequestID string
	UserID    string // "" when signed out
	Method    string
	Route     string
	Status    int
	Err       error
	Stack     []byte // for panics
}

// accessLog writes one structured line per request, after it finishes,
// at error level with the cause for 5xx, which it also reports (when
// report is set) unless a panic was reported already.
func accessLog(log *slog.Logger, report func(ErrorReport)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		if err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				c.Status(http.StatusInternalServerError)
			}
		}
		ri := requestInfo(c)
		status := c.Response().StatusCode()
		attrs := []any{
			slog.String("request_id", ri.id),
			slog.String("method", c.Method()),
			slog.String("path", truncate(c.Path(), 200)),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(ri.start)),
			slog.String("ip", ri.ip),
		}
		if ri.proxy != "" {
			attrs = append(attrs, slog.String("peer", ri.proxy)) // the proxy it came through
		}
		if !c.Response().IsBodyStream() { // reading a stream's body would wait for its end
			attrs = append(attrs, slog.Int("bytes", len(c.Response().Body())))
		}
		if ri.authed {
			attrs = append(attrs, slog.String("user_id", ri.claims.UserID.String()))
		}
		switch {
		case status >= 500:
			if ri.err != nil {
				attrs = append(attrs, slog.String("error", ri.err.Error()))
			}
			log.Error("request", attrs...)
			if report != nil && !ri.reported {
				cause := ri.err
				if cause == nil {
					cause = fmt.Errorf("%s %s answered %d", c.Method(), c.Route().Path, status)
				}
				report(errorReport(c, ri, status, cause, nil))
			}
		default:
			log.Info("request", attrs...)
		}
		return nil
	}
}

func errorReport(c *fiber.Ctx, ri *reqInfo, status int, err error, stack []byte) ErrorReport {
	r := ErrorReport{RequestID: ri.id, Method: strings.Clone(c.Method()), Route: strings.Clone(c.Route().Path), Status: status, Err: err, Stack: stack}
	if ri.authed {
		r.UserID = ri.claims.UserID.String()
	}
	return r
}

// recoverPanics turns a panic into a 500 problem carrying the request ID,
// with the stack in the log and, when report is set, the error tracker.
func recoverPanics(log *slog.Logger, report func(ErrorReport)) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				ri := requestInfo(c)
				attrs := []any{slog.String("request_id", ri.id), slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack()))}
				if ri.authed {
					attrs = append(attrs, slog.String("user_id", ri.claims.UserID.String()))
				}
				log.Error("panic", attrs...)
				ri.err = fmt.Errorf("panic: %v", r)
				if report != nil {
					report(errorReport(c, ri, http.StatusInternalServerError, ri.err, debug.Stack()))
					ri.reported = true
				}
				p, _ := newProblem(http.StatusInternalServerError, "")
				err = writeProblem(c, p)
			}
		}()
		return c.Next()
	}
}

// csp is the Content-Security-Policy of every response: no inline
// scripts, nothing from other origins, no framing.
// csp allows nothing but this origin (and data:/blob: images, for
// blurred previews and filter samples); imgOrigin adds a map tile server.
func csp(imgOrigin string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:" + imgOrigin + "; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// headerSet is a fixed list of response headers.
type headerSet [][2]string

// securityHeaders returns the headers every response carries.
func securityHeaders(tls bool, tiles string) headerSet {
	policy := csp("")
	if u, err := url.Parse(tiles); err == nil && u.Host != "" {
		policy = csp(" " + u.Scheme + "://" + u.Host)
	}
	hs := headerSet{
		{"Content-Security-Policy", policy},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "strict-origin-when-cross-origin"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"},
	}
	if tls {
		hs = append(hs, [2]string{"Strict-Transport-Security", "max-age=31536000"})
	}
	return hs
}

// apply sets the headers on a response.
func (hs headerSet) apply(c *fiber.Ctx) {
	h := &c.Response().Header
	for _, kv := range hs {
		h.Set(kv[0], kv[1])
	}
}

// middleware sets the headers on every response.
func (hs headerSet) middleware(c *fiber.Ctx) error {
	hs.apply(c)
	return c.Next()
}
