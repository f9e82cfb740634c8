package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
)

// authLimits guards sign-up, log-in and refresh: a sliding window per
// client IP, and one per username named in the body, so that neither one
// address nor a botnet aimed at one account can guess passwords quickly.
// Over the limit the answer is 429 with Retry-After and X-RateLimit-*.
func authLimits(perIP, perUser int, window time.Duration) []fiber.Handler {
	reached := func(c *fiber.Ctx) error {
		secs := c.GetRespHeader(fiber.HeaderRetryAfter)
		p, _ := newProblem(http.StatusTooManyRequests,
			fmt.Sprintf("Too many attempts; wait %s seconds and try again.", secs))
		return writeProblem(c, p)
	}
	byIP := limiter.New(limiter.Config{
		Max: perIP, Expiration: window, LimiterMiddleware: limiter.SlidingWindow{},
		KeyGenerator: func(c *fiber.Ctx) string { return "ip:" + c.IP() },
		LimitReached: reached,
		Next:         func(c *fiber.Ctx) bool { return c.Method() != http.MethodPost },
	})
	byUser := limiter.New(limiter.Config{
		Max: perUser, Expiration: window, LimiterMiddleware: limiter.SlidingWindow{},
		KeyGenerator: func(c *fiber.Ctx) string { return "user:" + usernameIn(c.Body()) },
		LimitReached: reached,
		Next:         func(c *fiber.Ctx) bool { return c.Method() != http.MethodPost || usernameIn(c.Body()) == "" },
	})
	return []fiber.Handler{byIP, byUser}
}

// usernameIn returns the lower-cased username of a JSON body, or "".
func usernameIn(body []byte) string {
	if len(body) == 0 || len(body) > 64<<10 {
		return ""
	}
	var v struct {
		Username string `json:"username"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Username) > 64 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(v.Username))
}
