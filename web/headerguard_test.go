package web_test

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"aperture/web"
)

// TestHeaderGuard: a response with a control character in any header it
// writes, however written, is never sent; a 500 problem (with the request
// ID and the usual security headers) goes instead, and the log names the
// header.
func TestHeaderGuard(t *testing.T) {
	ts := newServer(t, web.Config{})
	bad := []struct {
		name, header string
		write        func(c *fiber.Ctx) error
	}{
		{"CRLF in a redirect", "Location", func(c *fiber.Ctx) error { return c.Redirect("/x\r\nX-Injected: 1", 303) }},
		{"LF in a redirect", "Location", func(c *fiber.Ctx) error { return c.Redirect("/x\nX-Injected: 1", 302) }},
		{"CR in a redirect", "Location", func(c *fiber.Ctx) error { return c.Redirect("/x\rX-Injected: 1", 302) }},
		{"tab in a redirect", "Location", func(c *fiber.Ctx) error { return c.Redirect("/\t/evil.example", 303) }},
		{"CRLF in an added header", "X-Note", func(c *fiber.Ctx) error {
			c.Response().Header.Add("X-Note", "a\r\nX-Injected: 1")
			return c.SendString("ok")
		}},
		{"NUL in a header", "X-Note", func(c *fiber.Ctx) error {
			c.Response().Header.SetCanonical([]byte("X-Note"), []byte("a\x00b"))
			return c.SendString("ok")
		}},
		{"DEL in a header", "X-Note", func(c *fiber.Ctx) error {
			c.Response().Header.SetCanonical([]byte("X-Note"), []byte("a\x7fb"))
			return c.SendString("ok")
		}},
		{"escape in a header", "X-Note", func(c *fiber.Ctx) error {
			c.Response().Header.SetCanonical([]byte("X-Note"), []byte("\x1b[31m"))
			return c.SendString("ok")
		}},
		{"CRLF in a header name", "X-A??X-Injected", func(c *fiber.Ctx) error {
			c.Response().Header.AddBytesKV([]byte("X-A\r\nX-Injected"), []byte("1"))
			return c.SendString("ok")
		}},
		{"CRLF in a cookie", "Set-Cookie", func(c *fiber.Ctx) error {
			c.Cookie(&fiber.Cookie{Name: "ap_flash", Value: "hi\r\nX-Injected: 1", Path: "/"})
			return c.SendString("ok")
		}},
		{"CRLF in a content disposition", "Content-Disposition", func(c *fiber.Ctx) error {
			c.Response().Header.SetCanonical([]byte("Content-Disposition"), []byte("attachment; filename=\"a\r\nX-Injected: 1\""))
			return c.SendString("ok")
		}},
		{"CRLF in a link", "Link", func(c *fiber.Ctx) error {
			c.Response().Header.Add("Link", "</a>; rel=next\r\nX-Injected: 1")
			return c.SendString("ok")
		}},
		{"CRLF and an error", "Location", func(c *fiber.Ctx) error {
			c.Response().Header.Add("Location", "/x\r\nX-Injected: 1")
			return fiber.ErrNotFound
		}},
	}
	for i, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			path := "/test/header/" + string(rune('a'+i))
			ts.srv.App().Get(path, tc.write)
			r := ts.do("GET", path, "", nil)
			m := wantProblem(t, r, 500)
			if r.header.Get("X-Injected") != "" || r.header.Get("X-Note") != "" || r.header.Get("Location") != "" ||
				r.header.Get("Set-Cookie") != "" || r.header.Get("Link") != "" || r.header.Get("Content-Disposition") != "" {
				t.Fatalf("the refused response's headers were sent: %v", r.header)
			}
			if !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("the problem lacks the security headers: %v", r.header)
			}
			if strings.Contains(string(r.body), "X-Injected") {
				t.Fatalf("the body tells the header: %s", r.body)
			}
			logs := ts.log.String()
			if !strings.Contains(logs, m["request_id"].(string)) || !strings.Contains(logs, `\"`+tc.header+`\" header holds a control character`) {
				t.Fatalf("the log does not name the %s header: %s", tc.header, logs)
			}
		})
	}
	good := []struct {
		name  string
		write func(c *fiber.Ctx) error
	}{
		{"a redirect", func(c *fiber.Ctx) error { return c.Redirect("/p/1?x=%0D%0A", 303) }},
		{"a cookie", func(c *fiber.Ctx) error {
			c.Cookie(&fiber.Cookie{Name: "ap_flash", Value: "hi%0D%0Athere", Path: "/"})
			return c.SendString("ok")
		}},
		{"a header with spaces and UTF-8", func(c *fiber.Ctx) error {
			c.Response().Header.Add("X-Note", "café au lait")
			return c.SendString("ok")
		}},
	}
	for i, tc := range good {
		t.Run("passes "+tc.name, func(t *testing.T) {
			path := "/test/good/" + string(rune('a'+i))
			ts.srv.App().Get(path, tc.write)
			if r := ts.do("GET", path, "", nil); r.status >= 500 {
				t.Fatalf("a clean response was refused: %d %s", r.status, r.body)
			}
		})
	}
}
