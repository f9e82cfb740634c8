package web

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Every redirect aperture sends goes to a path on this site, decided by
// one function, localPath; "next" parameters and Referer headers are
// only ever candidates for it.

// maxLocalPath bounds the paths redirects accept (longer ones give the
// default): no page of aperture needs more.
const maxLocalPath = 2048

// localPath returns p as a path on this site, or def when p is not one.
// A browser resolves what it returns to this origin, however it reads it:
// it starts with exactly one "/", holds only printable ASCII (so no CR,
// LF, tab or NUL that could end a header or be dropped from a URL, and no
// backslash, which browsers read as "/"), and its path is decoded and
// cleaned ("." and ".." segments and repeated slashes removed) before it
// is escaped again, so that no encoding such as "/%2F%2Fhost" can turn
// into "//host" further on. p may not have a scheme or a host, may not
// hold a control character, tab or backslash as it is, and may be at
// most 2,048 bytes long, escaped; its query and fragment are kept, with
// any byte outside printable ASCII escaped.
func localPath(p, def string) string {
	if len(p) == 0 || len(p) > maxLocalPath || p[0] != '/' || len(p) > 1 && p[1] == '/' {
		return def
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return def
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return def
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	out := (&url.URL{Path: clean, RawQuery: escapeUnprintable(u.RawQuery), Fragment: u.Fragment}).String()
	if len(out) > maxLocalPath || !isLocal(out) {
		return def
	}
	return out
}

// isLocal reports whether p is a path a browser keeps on this origin: one
// leading "/", and nothing but printable ASCII other than "\".
func isLocal(p string) bool {
	if len(p) == 0 || p[0] != '/' || len(p) > 1 && p[1] == '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// escapeUnprintable percent-escapes the bytes of a raw query that are not
// printable ASCII, and the space, backslash and quotes; the rest (escapes
// included) stays as it is.
func escapeUnprintable(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c > ' ' && c < 0x7f && c != '\\' && c != '"' && c != '\'' && c != '<' && c != '>' && c != '`' {
			if b.Len() > 0 {
				b.WriteByte(c)
			}
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(q) + 16)
			b.WriteString(q[:i])
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	if b.Len() == 0 {
		return q
	}
	return b.String()
}

// backTo returns where a form sends the browser afterwards: its "next"
// field, else the referring page when it is a page of this site (same
// host), each through localPath; else def.
func backTo(c *fiber.Ctx, def string) string {
	if next := localPath(c.FormValue("next"), ""); next != "" {
		return next
	}
	ref := c.Get(fiber.HeaderReferer)
	if ref == "" {
		return def
	}
	if strings.HasPrefix(ref, "/") {
		return localPath(ref, def)
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !strings.EqualFold(u.Host, c.Hostname()) {
		return def
	}
	return localPath(u.RequestURI(), def)
}

// redirect sends the browser on with 303 See Other to to, when it is a
// path on this site (localPath), and to the home page otherwise.
func redirect(c *fiber.Ctx, to string) error {
	return c.Redirect(localPath(to, "/"), http.StatusSeeOther)
}
