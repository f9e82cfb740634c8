package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"aperture/alerts"
	"aperture/media"
	"aperture/store"
)

// Metrics is aperture's Prometheus registry and the collectors the web
// layer updates. Other packages register theirs on Registry.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	signups  prometheus.Counter
	logins   *prometheus.CounterVec

	posts    prometheus.Counter
	likes    prometheus.Counter
	comments prometheus.Counter
	// Stats keeps the last 24 hours a minute at a time for /admin.
	Stats *Recorder

	mediaSeconds  prometheus.Histogram
	mediaBytes    prometheus.Counter
	mediaRejected *prometheus.CounterVec
	mediaSwept    prometheus.Counter // what the media sweeper removes (see Swept)

	// pages times the home feed and post pages, for the page-latency
	// alert; uploadFailures counts uploads that failed in processing, for
	// the upload-failures alert.
	pages          alerts.Histogram
	uploadFailures atomic.Uint64
}

// alertPages are the routes whose latency the page-latency alert
// watches: the home feed and a post, as pages and in the API.
var alertPages = map[string]bool{"/": true, "/p/:id": true, "/api/v1/feed": true, "/api/v1/posts/:id": true}

// NewMetrics returns a registry with the Go runtime and process
// collectors, HTTP metrics, account counters, and bbolt gauges for st.
func NewMetrics(st *store.Store) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aperture_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aperture_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		signups:  prometheus.NewCounter(prometheus.CounterOpts{Name: "aperture_signups_total", Help: "Accounts created."}),
		posts:    prometheus.NewCounter(prometheus.CounterOpts{Name: "aperture_posts_total", Help: "Posts shared."}),
		likes:    prometheus.NewCounter(prometheus.CounterOpts{Name: "aperture_likes_total", Help: "Likes given (unlikes not subtracted)."}),
		comments: prometheus.NewCounter(prometheus.CounterOpts{Name: "aperture_comments_total", Help: "Comments written."}),
		Stats:    &Recorder{},
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aperture_logins_total", Help: "Log-in attempts by result.",
		}, []string{"result"}),
	}
	m.mediaSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "aperture_media_process_seconds", Help: "Time to check, decode, edit, resize and store one upload.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	m.mediaBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "aperture_media_upload_bytes_total", Help: "Bytes of photos uploaded."})
	m.mediaRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aperture_media_rejections_total", Help: "Uploads refused, by reason.",
	}, []string{"reason"})
	for _, reason := range []string{"unsupported", "too_large", "busy", "invalid", "quota", "cancelled", "error"} {
		m.mediaRejected.WithLabelValues(reason) // at 0 from the start, so that a rate over the first failures sees them rise
	}
	m.mediaSwept = prometheus.NewCounter(prometheus.CounterOpts{Name: "aperture_media_swept_total", Help: "Unattached photos removed after 24 hours."})
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.signups, m.logins, m.mediaSeconds, m.mediaBytes, m.mediaRejected, m.mediaSwept,
		m.posts, m.likes, m.comments,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_active_users", Help: "Accounts that made a request in the last 24 hours (since start)."},
			func() float64 { return float64(m.Stats.ActiveUsers()) }))
	if st != nil {
		r.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_db_size_bytes", Help: "Size of the partitions' database files."},
				func() float64 { _, size := st.Stats(); return float64(size) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aperture_db_write_tx_total", Help: "bbolt write transactions committed."},
				func() float64 { s, _ := st.Stats(); return float64(s.TxN) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_db_open_read_tx", Help: "bbolt read transactions open."},
				func() float64 { s, _ := st.Stats(); return float64(s.OpenTxN) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_db_free_pages", Help: "bbolt pages on the freelist."},
				func() float64 { s, _ := st.Stats(); return float64(s.FreePageN) }),
		)
	}
	return m
}

// observe is the fiber middleware that counts and times requests. Routes
// are labelled by their pattern, never the raw path, so the label set
// stays small.
func (m *Metrics) observe(c *fiber.Ctx) error {
	defer func() {
		// A panic is answered 500 further out (recoverPanics): count it
		// as one, then let it go on there.
		if p := recover(); p != nil {
			m.record(c, http.StatusInternalServerError)
			panic(p)
		}
	}()
	err := c.Next()
	m.record(c, c.Response().StatusCode())
	return err
}

// record counts and times one answered request.
func (m *Metrics) record(c *fiber.Ctx, status int) {
	ri := requestInfo(c)
	route := c.Route().Path
	if status == http.StatusNotFound && (route == "/" || route == "") {
		route = "unmatched"
	}
	// fiber's strings point into reused buffers: copy what the registry keeps.
	method := strings.Clone(c.Method())
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	d := time.Since(ri.start)
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
	if method == http.MethodGet && alertPages[route] {
		m.pages.Observe(d)
	}
	user := store.ID(0)
	if ri.authed {
		user = ri.claims.UserID
	}
	m.Stats.observe(d, status, user)
}

type metricsInput struct {
	Authorization string `header:"Authorization" doc:"Bearer and the server's metrics token, when it has one (--metrics-token)"`
}

type metricsOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// errMetricsToken refuses a metrics request without the metrics token,
// with the request's ID when ctx has one.
func errMetricsToken(ctx context.Context) *Problem {
	p, _ := newProblem(http.StatusUnauthorized, "The metrics need this server's metrics token, sent as Authorization: Bearer <token>.")
	p.challenge = `Bearer realm="aperture metrics"`
	if ri := infoFrom(ctx); ri != nil {
		p.RequestID = ri.id
	}
	return p
}

func (s *Server) registerMetrics(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "metrics", Method: http.MethodGet, Path: "/metrics", Tags: []string{"operations"},
		Summary:     "Prometheus metrics in the text exposition format",
		Description: "With --metrics-token the request needs it as a bearer token (401 otherwise); with --metrics-addr the metrics are served on that address and this route answers 404.",
		Errors:      []int{401, 404},
	}, func(ctx context.Context, in *metricsInput) (*metricsOutput, error) {
		if s.cfg.MetricsElsewhere {
			return nil, store.Errorf(store.ErrNotFound, "This server serves its metrics on an address of their own.")
		}
		if !s.metricsAllowed(in.Authorization) {
			return nil, errMetricsToken(ctx)
		}
		body, ctype, err := s.metricsText()
		if err != nil {
			return nil, err
		}
		return &metricsOutput{ContentType: ctype, Body: body}, nil
	})
}

// metricsAllowed reports whether an Authorization header carries the
// metrics token (compared in constant time); anything does without one.
func (s *Server) metricsAllowed(authorization string) bool {
	if s.cfg.MetricsToken == "" {
		return true
	}
	tok, ok := bearerToken(authorization)
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.MetricsToken)) == 1
}

// metricsText returns the registry's metrics in the Prometheus text
// format, and that format's content type.
func (s *Server) metricsText() ([]byte, string, error) {
	families, err := s.metrics.Registry.Gather()
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	enc := expfmt.NewEncoder(&buf, format)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return nil, "", err
		}
	}
	return buf.Bytes(), string(format), nil
}

// MetricsHandler serves GET /metrics, as the app does, for a listener of
// its own (Config.MetricsElsewhere): the metrics token, when set, is
// required the same way. Every other path is 404.
func (s *Server) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *Problem
		switch {
		case r.URL.Path != "/metrics":
			p, _ = newProblem(http.StatusNotFound, "There is nothing here but /metrics.")
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			p, _ = newProblem(http.StatusMethodNotAllowed, r.Method+" is not allowed on /metrics.")
		case !s.metricsAllowed(r.Header.Get("Authorization")):
			p = errMetricsToken(r.Context())
			w.Header().Set("WWW-Authenticate", p.challenge)
		}
		if p != nil {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(p.Status)
			gojson.NewEncoder(w).Encode(p)
			return
		}
		body, ctype, err := s.metricsText()
		if err != nil {
			s.log.Error("metrics", "error", err)
			http.Error(w, internalDetail, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(body)
	})
}

// observeUpload records one upload's size, time and outcome.
func (m *Metrics) observeUpload(n int, d time.Duration, err error) {
	m.mediaBytes.Add(float64(n))
	switch {
	case err == nil:
		m.mediaSeconds.Observe(d.Seconds())
	case errors.Is(err, media.ErrUnsupported):
		m.mediaRejected.WithLabelValues("unsupported").Inc()
	case errors.Is(err, media.ErrTooLarge):
		m.mediaRejected.WithLabelValues("too_large").Inc()
	case errors.Is(err, media.ErrBusy):
		m.mediaRejected.WithLabelValues("busy").Inc()
	case errors.Is(err, media.ErrInvalid), errors.Is(err, store.ErrInvalid):
		m.mediaRejected.WithLabelValues("invalid").Inc()
	case errors.Is(err, store.ErrTooLarge):
		m.mediaRejected.WithLabelValues("quota").Inc()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		m.mediaRejected.WithLabelValues("cancelled").Inc()
	default:
		m.mediaRejected.WithLabelValues("error").Inc()
		m.uploadFailures.Add(1)
	}
}

// Swept counts photos the media sweeper removed (its Swept callback).
func (m *Metrics) Swept(n int) { m.mediaSwept.Add(float64(n)) }
