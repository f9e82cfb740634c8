package web

import (
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
)

// authenticate is a huma middleware. For operations that declare the
// bearer scheme it requires a valid access token of an open session; for
// the others a token is optional, but one that is sent must be valid.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	required := len(ctx.Operation().Security) > 0
	token, ok := bearerToken(ctx.Header("Authorization"))
	if ri := infoFrom(ctx.Context()); !ok && ri != nil && ri.byCookie {
		if unsafeMethod(ctx.Method()) && !s.cookies.validCSRF(humafiber.Unwrap(ctx)) {
			huma.WriteErr(s.api, ctx, http.StatusForbidden, "This request came without the page's CSRF token, so it was refused; reload the page and try again.")
			return
		}
		next(ctx)
		return
	}
	if !ok {
		if required {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="aperture"`)
			huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "Sign in first: this needs an Authorization: Bearer access token.")
			return
		}
		next(ctx)
		return
	}
	ri := infoFrom(ctx.Context())
	claims, err := s.auth.Authenticate(token, ri.start)
	if err != nil {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="aperture", error="invalid_token"`)
		huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "", err)
		return
	}
	ri.claims, ri.authed = claims, true
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
