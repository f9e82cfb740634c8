package web

import (
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// guardHeaders is the last word on every response's headers, wherever
// they were written (redirects, cookies, rate limits, files, errors): a
// header whose name or value holds a control character — CR or LF, which
// would end it and start another header or a second response, NUL, or
// any other, tab included — is never sent. The response is replaced by a
// 500 problem, and the log names the header. Errors that reach it are
// rendered first (fiber's ErrorHandler), so their headers are checked too.
func (s *Server) guardHeaders(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			c.Status(http.StatusInternalServerError)
		}
	}
	name, bad := unsafeHeader(&c.Response().Header)
	if !bad {
		return nil
	}
	ri := requestInfo(c)
	cause := fmt.Errorf("web: the response was refused: its %q header holds a control character", name)
	c.Response().Reset()
	if ri != nil {
		ri.err = cause
		c.Set("X-Request-ID", ri.id)
	}
	s.secure.apply(c)
	p, _ := newProblem(http.StatusInternalServerError, "")
	return writeProblem(c, p)
}

// unsafeHeader returns the name of the first response header (cookies
// included) whose name or value has a byte below 0x20 or 0x7F, and
// whether there is one.
func unsafeHeader(h *fasthttp.ResponseHeader) (string, bool) {
	for k, v := range h.All() {
		if hasControl(k) || hasControl(v) {
			return string(printable(k)), true
		}
	}
	return "", false
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// printable returns b with control bytes as '?', for the log.
func printable(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return out
}
