package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Rate is N events per Per; a zero N means no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads a rate like "100/1h" or "600/1m"; "0" or "off" is no
// limit. It returns an error naming the expected form.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "off" || s == "" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err1 := strconv.Atoi(n)
	d, err2 := time.ParseDuration(per)
	if !ok || err1 != nil || err2 != nil || count < 0 || d <= 0 {
		return Rate{}, fmt.Errorf("%q is not a rate like 100/1h (or off)", s)
	}
	return Rate{N: count, Per: d}, nil
}

// String writes a rate as 100/1h0m0s, or off.
func (r Rate) String() string {
	if r.N == 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// Limits are the per-account request limits by action; one IP address
// may make IPFactor times as many (several people behind one address).
// Zero rates are unlimited.
type Limits struct {
	Posts, Comments, Likes, Follows, Uploads, Reads Rate
	IPFactor                                        int // 5
}

// actionLimits applies Limits to the routes of each action.
type actionLimits struct {
	byKind map[string]*pairLimiter
}

// limitedRoutes classifies requests by the action they perform, for the
// API and the HTML forms alike.
var limitedRoutes = []struct {
	kind    string
	methods string
	path    *regexp.Regexp
}{
	{"uploads", "POST", regexp.MustCompile(`^/api/v1/media(/preview)?$|^/new$`)},
	{"posts", "POST", regexp.MustCompile(`^/api/v1/posts$`)},
	{"comments", "POST", regexp.MustCompile(`^/api/v1/posts/\d+/comments$|^/p/\d+/comments$`)},
	{"likes", "POST DELETE", regexp.MustCompile(`^/api/v1/posts/\d+/like$|^/p/\d+/(un)?like$`)},
	{"follows", "POST DELETE", regexp.MustCompile(`^/api/v1/users/[^/]+/follow$|^/u/[^/]+/(un)?follow$`)},
}

// byKind returns the rate of each limited action, by its kind.
func (l Limits) byKind() map[string]Rate {
	return map[string]Rate{"posts": l.Posts, "comments": l.Comments, "likes": l.Likes,
		"follows": l.Follows, "uploads": l.Uploads, "reads": l.Reads}
}

// newActionLimits applies l: per address here, per account through
// accounts.
func newActionLimits(l Limits, accounts AccountLimiter, log *slog.Logger) *actionLimits {
	if l.IPFactor <= 0 {
		l.IPFactor = 5
	}
	a := &actionLimits{byKind: map[string]*pairLimiter{}}
	for kind, r := range l.byKind() {
		if r.N > 0 {
			a.byKind[kind] = newPairLimiter(kind, r.N*l.IPFactor, r.N, r.Per, accounts, log, "You are doing that too often")
		}
	}
	return a
}

// kindOf returns the limited action a request performs, or "".
func kindOf(method, path string) string {
	if method == http.MethodGet {
		if strings.HasPrefix(path, "/assets/") || strings.HasPrefix(path, "/media/") || path == "/healthz" || path == "/readyz" || path == "/metrics" {
			return ""
		}
		return "reads"
	}
	for _, r := range limitedRoutes {
		if strings.Contains(r.methods, method) && r.path.MatchString(path) {
			return r.kind
		}
	}
	return ""
}

// limitActions answers 429 (problem+json for the API, a page for the UI)
// when the account or the address is over its rate for the action.
func (s *Server) limitActions(c *fiber.Ctx) error {
	kind := kindOf(c.Method(), c.Path())
	l := s.actions.byKind[kind]
	if l == nil {
		return c.Next()
	}
	user, shard := "", uint16(0)
	if id := me(c); id != 0 {
		user, shard = id.String(), id.Shard()
	}
	p := l.take(c, user, shard)
	if p == nil {
		return c.Next()
	}
	if strings.HasPrefix(c.Path(), "/api/") || !strings.Contains(c.Get(fiber.HeaderAccept), "text/html") && c.Method() != http.MethodPost {
		return writeProblem(c, p)
	}
	return s.page(c, p.Status, "error", &view{Title: p.Title, Data: map[string]string{"Title": p.Title, "Detail": p.Detail}})
}
