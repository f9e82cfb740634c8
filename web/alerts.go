package web

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"aperture/alerts"
	"aperture/store"
)

// The Alerts tab and its API: the built-in rules (package alerts) as they
// stand, their last state changes, and a test through every channel.

// alertSources are the measurements the web layer holds: requests and
// their failures, the feed and post pages' latency, upload failures, the
// outbox, and the cluster's health on a node of one.
func (s *Server) alertSources() alerts.Sources {
	src := alerts.Sources{
		Requests:       s.stats.Requests,
		Pages:          &s.metrics.pages,
		UploadFailures: s.metrics.uploadFailures.Load,
		Outbox: func() (int, time.Time, int, error) {
			ob, err := s.st.OutboxStats()
			return ob.Depth, ob.Oldest, ob.DeadLetter, err
		},
	}
	if s.cluster != nil {
		src.Cluster = func(ctx context.Context) (alerts.ClusterHealth, error) {
			v, err := s.cluster.get(ctx)
			if err != nil {
				return alerts.ClusterHealth{}, err
			}
			if !clusterReporter(v) {
				// Healthy as far as this node reports: when the reporter
				// changes, the old one resolves what it had fired.
				return alerts.ClusterHealth{}, nil
			}
			return clusterHealth(v), nil
		}
	}
	return src
}

// clusterReporter reports whether this node is the one that reads the
// cluster's rules: the first ready node by name. Every node watches its
// own disk and memory, but a partition without an owner is one fault, and
// it pages once, not once per node.
func clusterReporter(v *ClusterView) bool {
	first := ""
	for _, n := range v.Nodes {
		if n.Ready && (first == "" || n.Name < first) {
			first = n.Name
		}
	}
	return first == v.Node
}

type alertsOutput struct {
	Body struct {
		Items    []alerts.Status `json:"items" doc:"Every rule, in the order the Alerts tab shows them"`
		Changes  []alerts.Change `json:"changes" doc:"The last 50 state changes, newest first"`
		Channels []string        `json:"channels" doc:"Where notifications go: push, webhook or pagerduty, email"`
	}
}

type alertTestOutput struct {
	Body struct {
		Items []alerts.ChannelResult `json:"items" doc:"How each channel took the test"`
	}
}

func (s *Server) registerAlerts(api huma.API) {
	tags := []string{"admin"}
	huma.Register(api, s.op(huma.Operation{OperationID: "admin-alerts", Method: http.MethodGet, Path: "/api/v1/admin/alerts", Tags: tags,
		Summary:     "The built-in alert rules: state, value and threshold",
		Description: "Rules are read every 15 seconds. A rule is pending once its value crosses the threshold, firing when it stays there for the rule's for_s, and resolved once it has been back past its clear level for as long (at least a minute).",
		Security:    bearer, Errors: []int{401, 403}}), s.adminAlerts)
	huma.Register(api, s.op(huma.Operation{OperationID: "admin-alerts-test", Method: http.MethodPost, Path: "/api/v1/admin/alerts/test", Tags: tags,
		Summary:     "Send a test notification through every channel",
		Description: "Waits for each channel (at most 30 seconds) and says how each went. Push reaches every administrator's browsers with push turned on.",
		Security:    bearer, Errors: []int{401, 403, 404}}), s.adminAlertsTest)
}

// adminAlerts answers GET /api/v1/admin/alerts and the Alerts tab.
func (s *Server) adminAlerts(ctx context.Context, _ *struct{}) (*alertsOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	out := &alertsOutput{}
	out.Body.Items, out.Body.Changes, out.Body.Channels = []alerts.Status{}, []alerts.Change{}, []string{}
	if s.alerts != nil {
		out.Body.Items, out.Body.Changes, out.Body.Channels = s.alerts.Statuses(), s.alerts.History(), s.alerts.Channels()
	}
	return out, nil
}

// adminAlertsTest answers POST /api/v1/admin/alerts/test.
func (s *Server) adminAlertsTest(ctx context.Context, _ *struct{}) (*alertTestOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	if s.alerts == nil {
		return nil, store.Errorf(store.ErrNotFound, "Alerts are turned off on this server (--alerts off).")
	}
	out := &alertTestOutput{}
	out.Body.Items = s.alerts.SendTest(ctx, time.Now())
	return out, nil
}

// alertRow is one rule as the Alerts tab shows it.
type alertRow struct {
	alerts.Status
	Value, Threshold, Clear, For string
}

func (s *Server) adminAlertsPage(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminAlerts(ctx, nil)
	if err != nil {
		return err
	}
	rows := make([]alertRow, len(out.Body.Items))
	for i, st := range out.Body.Items {
		rows[i] = alertRow{Status: st, Value: "—", Threshold: st.Unit.Format(st.Threshold), Clear: st.Unit.Format(st.Clear),
			For: alerts.Seconds.Format(st.For)}
		if st.Value != nil {
			rows[i].Value = st.Unit.Format(*st.Value)
		}
		if st.For == 0 {
			rows[i].For = "at once"
		}
	}
	data := map[string]any{"Rules": rows, "Changes": out.Body.Changes, "Channels": out.Body.Channels, "On": s.alerts != nil, "Every": "15 s"}
	if s.alerts != nil {
		data["Every"] = alerts.Seconds.Format(s.alerts.Interval().Seconds())
	}
	return s.adminPage(c, "Alerts", "alerts", data)
}

// adminAlertsTestForm is the Alerts tab's test button: it sends the test
// and comes back with a sentence on how each channel took it.
func (s *Server) adminAlertsTestForm(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminAlertsTest(ctx, nil)
	if err != nil {
		return err
	}
	s.flash(c, testSentence(out.Body.Items))
	return nil
}

// testSentence says how a test went: "Test sent: push reached …; webhook
// failed: the alert webhook answered 500 Internal Server Error."
func testSentence(rs []alerts.ChannelResult) string {
	if len(rs) == 0 {
		return "There is nowhere to send a test: set --alert-webhook or --smtp-url and --alert-email, or turn on push in an administrator's browser."
	}
	msg := "Test sent."
	for _, r := range rs {
		if r.OK {
			msg += " " + r.Channel + ": delivered."
		} else {
			msg += " " + r.Channel + ": failed, " + r.Error + "."
		}
	}
	return msg
}
