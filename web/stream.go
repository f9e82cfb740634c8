package web

import (
	"bufio"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"aperture/feed"
)

// streamHeartbeat keeps proxies from closing an idle stream.
const streamHeartbeat = 25 * time.Second

// registerStream serves GET /api/v1/stream: server-sent events for the
// signed-in account — "hello" with the unread count when a stream starts
// (or cannot resume exactly), "activity" with the new unread count, and
// "post" for each new post in the home feed. A client that reconnects
// with Last-Event-ID (browsers do) gets exactly the events it missed.
func (s *Server) registerStream(api huma.API) {
	api.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "stream", Method: http.MethodGet, Path: "/api/v1/stream", Tags: []string{"feeds"},
		Summary:     "Live events: new activity and new posts in the home feed (server-sent events)",
		Description: "text/event-stream. Events: hello {unread} at the start, activity {type,unread}, post {post,author}. Send Last-Event-ID (or ?last_event_id=) to resume after a disconnection; a heartbeat comment comes every 25 s.",
		Security:    bearer,
		Parameters: []*huma.Param{{Name: "Last-Event-ID", In: "header", Schema: &huma.Schema{Type: "string"}},
			{Name: "last_event_id", In: "query", Schema: &huma.Schema{Type: "string"}}},
		Responses: map[string]*huma.Response{"200": {Description: "An endless event stream",
			Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: "string"}}}}},
	})
	s.app.Get("/api/v1/stream", s.stream)
}

func (s *Server) stream(c *fiber.Ctx) error {
	ri := requestInfo(c)
	if ri == nil || !ri.authed || s.hub == nil {
		status, msg := http.StatusUnauthorized, "Sign in first: the stream is for a signed-in account."
		if s.hub == nil {
			status, msg = http.StatusServiceUnavailable, "Live events are not available on this server."
		}
		p, _ := newProblem(status, msg)
		return writeProblem(c, p)
	}
	user, claims := ri.claims.UserID, ri.claims
	last := c.Get("Last-Event-ID")
	if last == "" {
		last = c.Query("last_event_id")
	}
	ch, missed, resumed, cancel := s.hub.Subscribe(user, string([]byte(last)))
	unread, err := s.st.UnreadActivity(user)
	if err != nil {
		cancel()
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	conn := c.Context().Conn()
	closing := s.closing
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		send := func(format string, args ...any) bool {
			conn.SetWriteDeadline(time.Now().Add(streamHeartbeat + 10*time.Second))
			fmt.Fprintf(w, format, args...)
			return w.Flush() == nil
		}
		event := func(ev feed.Event) bool {
			return send("id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, ev.Data)
		}
		if !resumed && !send("retry: 3000\nevent: hello\ndata: {\"unread\":%d}\n\n", unread) {
			return
		}
		for _, ev := range missed {
			if !event(ev) {
				return
			}
		}
		// The session is asked again with every event and heartbeat, so
		// a stream ends soon after its session does (a logout, or the
		// account's suspension or deletion).
		open := func() bool { return s.auth.Valid(claims, time.Now()) == nil }
		t := time.NewTicker(streamHeartbeat)
		defer t.Stop()
		for {
			select {
			case ev := <-ch:
				if !open() || !event(ev) {
					return
				}
			case <-t.C:
				if !open() || !send(": ping\n\n") {
					return
				}
			case <-closing:
				return
			}
		}
	})
	return nil
}
