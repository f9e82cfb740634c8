package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"aperture/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// ui holds the parsed page templates and the static assets, each
// pre-compressed and fingerprinted.
type ui struct {
	pages  map[string]*template.Template
	assets map[string]*asset
}

type asset struct {
	body, gz []byte
	ctype    string
	version  string
}

func newUI(funcs template.FuncMap) (*ui, error) {
	u := &ui{pages: map[string]*template.Template{}, assets: map[string]*asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a := &asset{body: b, ctype: mime.TypeByExtension(path.Ext(p)), version: hex.EncodeToString(sum[:6])}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		w.Write(b)
		w.Close()
		if gz.Len() < len(b) {
			a.gz = gz.Bytes()
		}
		u.assets[strings.TrimPrefix(p, "assets/")] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	funcs["asset"] = func(name string) (string, error) {
		a, ok := u.assets[name]
		if !ok {
			return "", fmt.Errorf("no asset %q", name)
		}
		return "/assets/" + name + "?v=" + a.version, nil
	}
	sprite := "/assets/icons.svg?v=" + u.assets["icons.svg"].version
	funcs["icon"] = func(name string) template.HTML {
		// Icon names are constants of the templates.
		return template.HTML(`<svg class="i" aria-hidden="true" focusable="false"><use href="` + sprite + "#" + template.HTMLEscapeString(name) + `"></use></svg>`)
	}
	shared, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "parts.html" {
			continue
		}
		t, err := template.Must(shared.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		u.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return u, nil
}

// serveAsset answers /assets/*: immutable when the version matches.
func (u *ui) serveAsset(c *fiber.Ctx) error {
	a, ok := u.assets[c.Params("*")]
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, a.ctype)
	if c.Query("v") == a.version {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	etag := `"` + a.version + `"`
	c.Set(fiber.HeaderETag, etag)
	c.Vary(fiber.HeaderAcceptEncoding)
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(http.StatusNotModified)
	}
	if a.gz != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(a.gz)
	}
	return c.Send(a.body)
}

// view is what every page template receives.
type view struct {
	Title  string
	Nav    string      // which tab is current: home, explore, new, activity, profile
	Me     *AuthorView // the signed-in user; nil when signed out
	Admin  bool        // the signed-in user administers the instance
	CSRF   string
	Unread int
	Flash  string
	Path   string // the request path with its query, for redirects back
	Data   any    // the page's own data
}

// page renders a full page, or just its "items" block for a request that
// asks for more of a list (infinite scroll sends X-Fetch: items).
func (s *Server) page(c *fiber.Ctx, status int, name string, v *view) error {
	t, ok := s.ui.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	if err := s.frame(c, v); err != nil {
		return err
	}
	block := "layout.html"
	if c.Get("X-Fetch") == "items" && t.Lookup("items") != nil {
		block = "items"
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Vary("Cookie", "X-Fetch")
	return c.Status(status).Send(buf.Bytes())
}

// frame fills what every page shows: the signed-in user, the unread
// badge, the CSRF token and a flash message.
func (s *Server) frame(c *fiber.Ctx, v *view) error {
	v.CSRF = s.cookies.token(c)
	v.Path = string(c.Request().URI().RequestURI())
	if f := c.Cookies(cookieFlash); f != "" {
		v.Flash, _ = url.QueryUnescape(f)
		c.Cookie(&fiber.Cookie{Name: cookieFlash, Path: "/", MaxAge: -1, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode})
	}
	cl, ok := viewer(ctxOf(c))
	if !ok || v.Me != nil {
		return nil
	}
	h, err := s.st.Hydrate(0, nil, cl.UserID)
	if err != nil {
		return err
	}
	u, ok := h.Authors[cl.UserID]
	if !ok {
		return nil
	}
	a := s.authorView(u, h.Media, now(ctxOf(c)))
	v.Me, v.Admin = &a, u.Admin
	v.Unread, err = s.st.UnreadActivity(cl.UserID)
	return err
}

// me returns the signed-in user's ID, or 0.
func me(c *fiber.Ctx) store.ID {
	if ri := requestInfo(c); ri != nil && ri.authed {
		return ri.claims.UserID
	}
	return 0
}
