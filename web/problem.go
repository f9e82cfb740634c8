package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"aperture/media"
	"aperture/store"
)

// Problem is an RFC 9457 problem+json body. Every error aperture's HTTP
// layer returns has this shape; Detail is a sentence a person can act on.
type Problem struct {
	Type      string       `json:"type" doc:"A URI naming the kind of problem"`
	Title     string       `json:"title" doc:"The HTTP status text"`
	Status    int          `json:"status" doc:"The HTTP status code"`
	Detail    string       `json:"detail" doc:"What went wrong, as a sentence a person can act on"`
	RequestID string       `json:"request_id,omitempty" doc:"The request's ID, as logged by the server"`
	Errors    []FieldError `json:"errors,omitempty" doc:"The fields at fault, for 422"`

	retryAfter int    // seconds, for 429 and 503
	challenge  string // WWW-Authenticate, for 401
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field" doc:"The input field, e.g. username"`
	Message string `json:"message" doc:"What is wrong with it"`
}

// Error returns the detail sentence.
func (p *Problem) Error() string { return p.Detail }

// GetStatus returns the HTTP status (huma.StatusError).
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send application/problem+json.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// GetHeaders returns Retry-After for 429 and 503, and WWW-Authenticate
// for a 401 that names its scheme (huma.HeadersError).
func (p *Problem) GetHeaders() http.Header {
	h := http.Header{}
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	if p.challenge != "" {
		h.Set("WWW-Authenticate", p.challenge)
	}
	if len(h) == 0 {
		return nil
	}
	return h
}

// problemTypes names each status's problem type URI.
func problemType(status int) string {
	if t := http.StatusText(status); t != "" {
		return "https://aperture.dev/problems/" + strings.ReplaceAll(strings.ToLower(t), " ", "-")
	}
	return "about:blank"
}

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = []struct {
	kind   error
	status int
}{
	{store.ErrNotFound, http.StatusNotFound},
	{store.ErrConflict, http.StatusConflict},
	{store.ErrInvalid, http.StatusUnprocessableEntity},
	{store.ErrUnauthorized, http.StatusUnauthorized},
	{store.ErrForbidden, http.StatusForbidden},
	{store.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{store.ErrUnavailable, http.StatusServiceUnavailable},
	{media.ErrUnsupported, http.StatusUnsupportedMediaType},
	{media.ErrInvalid, http.StatusUnprocessableEntity},
	{media.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{media.ErrBusy, http.StatusServiceUnavailable},
	{media.ErrNotFound, http.StatusNotFound},
}

const internalDetail = "Something went wrong on our side. It has been logged; try again, and if it keeps happening, report the request ID."

// newProblem builds the Problem for status and a message, classifying
// errs: store errors set status and sentence, huma's validation details
// become field errors, and anything else is internal (kept out of the body
// and returned as cause, for the log).
func newProblem(status int, msg string, errs ...error) (p *Problem, cause error) {
	p = &Problem{Status: status, Detail: msg}
	for _, err := range errs {
		if err == nil {
			continue
		}
		var se *store.Error
		var me *media.Error
		var hd *huma.ErrorDetail
		var pr *Problem
		switch {
		case errors.As(err, &pr): // already a problem (a form's checkInput)
			p.Status, p.Detail, p.retryAfter, p.challenge = pr.Status, pr.Detail, pr.retryAfter, pr.challenge
			p.Errors = append(p.Errors, pr.Errors...)
		case errors.As(err, &se):
			p.Status, p.Detail = statusFor(se), se.Msg
			if se.Field != "" {
				p.Errors = append(p.Errors, FieldError{Field: se.Field, Message: se.Msg})
			}
		case errors.As(err, &me):
			p.Status, p.Detail = statusFor(me), me.Msg
			if me.Field != "" && p.Status == http.StatusUnprocessableEntity {
				p.Errors = append(p.Errors, FieldError{Field: me.Field, Message: me.Msg})
			}
		case errors.As(err, &hd):
			p.Errors = append(p.Errors, FieldError{Field: fieldName(hd.Location), Message: hd.Message})
		default:
			cause = err
		}
	}
	switch {
	case p.Status >= 500 && p.Status != http.StatusServiceUnavailable:
		p.Detail = internalDetail
	case p.Status == http.StatusServiceUnavailable:
		p.retryAfter = 5
	case p.Status == http.StatusBadRequest && len(p.Errors) == 1 && p.Errors[0].Field == "body":
		p.Detail = "The request body is not valid JSON (" + p.Errors[0].Message + ")."
	case p.Detail == "request body is required":
		p.Detail = "This request needs a JSON body."
	case len(p.Errors) > 0 && (p.Detail == "" || p.Detail == "validation failed"):
		p.Detail = fieldSentence(p.Errors)
	case strings.HasPrefix(p.Detail, "request body is too large"):
		p.Detail = "The request body is too large for this endpoint."
	case p.Detail == "":
		p.Detail = http.StatusText(p.Status) + "."
	}
	p.Title = http.StatusText(p.Status)
	p.Type = problemType(p.Status)
	return p, cause
}

func statusFor(err error) int {
	for _, s := range statusOf {
		if errors.Is(err, s.kind) {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// fieldName turns huma's "body.username" or "query.limit" into "username"
// or "limit"; the whole body is "body".
func fieldName(loc string) string {
	for _, p := range []string{"body.", "form.", "query.", "path.", "header."} {
		if strings.HasPrefix(loc, p) {
			return strings.TrimPrefix(loc, p)
		}
	}
	return loc
}

func fieldSentence(errs []FieldError) string {
	var b strings.Builder
	b.WriteString("Some fields need fixing: ")
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		if e.Field == "body" || e.Field == "" {
			b.WriteString(e.Message)
		} else {
			fmt.Fprintf(&b, "%s: %s", e.Field, e.Message)
		}
	}
	b.WriteString(".")
	return b.String()
}

// init makes huma build aperture Problems, with the request ID, and
// remembers internal causes on the request for the access log.
func init() {
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		p, _ := newProblem(status, msg, errs...)
		return p
	}
	huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		p, cause := newProblem(status, msg, errs...)
		if ctx != nil {
			if ri := infoFrom(ctx.Context()); ri != nil {
				p.RequestID = ri.id
				if cause != nil {
					ri.err = cause
				}
			}
		}
		return p
	}
}

// writeProblem sends p from plain fiber handlers (unknown routes, body
// limits, rate limits, panics).
func writeProblem(c *fiber.Ctx, p *Problem) error {
	if ri := requestInfo(c); ri != nil {
		p.RequestID = ri.id
	}
	if p.retryAfter > 0 {
		c.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(p.Status).JSON(p, "application/problem+json")
}

// fiberError is fiber's ErrorHandler: every error that escapes a
// handler, and fiber's own (404, 405, 413 from the body limit), leaves as
// problem+json — or, for a browser asking for a page, as an error page.
func (s *Server) fiberError(c *fiber.Ctx, err error) error {
	if wantsPage(c) {
		return s.errorPage(c, err)
	}
	var fe *fiber.Error
	status, detail := http.StatusInternalServerError, ""
	if errors.As(err, &fe) {
		status = fe.Code
		switch status {
		case http.StatusNotFound:
			detail = fmt.Sprintf("There is nothing at %s %s.", c.Method(), truncate(c.Path(), 100))
		case http.StatusMethodNotAllowed:
			detail = fmt.Sprintf("%s is not allowed on %s.", c.Method(), truncate(c.Path(), 100))
		case http.StatusRequestEntityTooLarge:
			detail = "The request body is too large."
		default:
			detail = fe.Message
		}
	} else if ri := requestInfo(c); ri != nil {
		ri.err = err
	}
	p, _ := newProblem(status, detail)
	return writeProblem(c, p)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// wantsPage reports whether a request is a browser's, for a page rather
// than the API or a file.
func wantsPage(c *fiber.Ctx) bool {
	p := c.Path()
	return c.Method() == http.MethodGet && !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/media/") &&
		!strings.HasPrefix(p, "/assets/") && strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}
