package web

import (
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/gofiber/fiber/v2"
)

// identify signs the request in, once, before any limit or handler: by
// its bearer token, or else by the browser's session cookies (see
// cookieSession). A bearer token that is sent but invalid is remembered,
// so that the API refuses it.
func (s *Server) identify(c *fiber.Ctx) error {
	ri := requestInfo(c)
	if ri == nil || strings.EqualFold(strings.TrimSuffix(c.Path(), "/"), "/metrics") {
		return c.Next() // /metrics takes its own token (Config.MetricsToken), not a session
	}
	token, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return s.cookieSession(c)
	}
	claims, err := s.auth.Authenticate(token, ri.start)
	if err != nil {
		ri.authErr = err
		return c.Next()
	}
	ri.claims, ri.authed = claims, true
	return c.Next()
}

// authenticate is a huma middleware. For operations that declare the
// bearer scheme it requires a signed-in user; for the others sign-in is
// optional, but a bearer token that is sent must be valid. A browser
// signed in by cookie must send the page's CSRF token with every
// state-changing call.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	ri := infoFrom(ctx.Context())
	switch {
	case ri == nil:
		huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "")
		return
	case ri.authErr != nil:
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="aperture", error="invalid_token"`)
		huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "", ri.authErr)
		return
	case !ri.authed && len(ctx.Operation().Security) > 0:
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="aperture"`)
		huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "Sign in first: this needs an Authorization: Bearer access token.")
		return
	case ri.byCookie && unsafeMethod(ctx.Method()) && !s.cookies.validCSRF(humafiber.Unwrap(ctx)):
		huma.WriteErr(s.api, ctx, http.StatusForbidden, "This request came without the page's CSRF token, so it was refused; reload the page and try again.")
		return
	}
	next(ctx)
}

func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
