// Package web is aperture's HTTP layer: the fiber app, the JSON API under
// /api/v1 (described by huma, which also validates input and writes
// problem+json), authentication, middleware, health and metrics.
//
// Handlers are thin: parse, authorize, one call into the package that owns
// the data, render.
package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"aperture/alerts"
	"aperture/feed"
	"aperture/media"
	"aperture/search"
	"aperture/store"
	"aperture/web/auth"
)

// Config is the web layer's configuration. Zero fields take the defaults
// in parentheses.
type Config struct {
	Version      string        // reported by /healthz and the OpenAPI document
	MaxJSONBytes int64         // largest JSON request body (64 KiB)
	MaxBodyBytes int           // largest request body of any kind (32 MiB)
	AuthPerIP    int           // sign-up/log-in/refresh attempts per IP per window (20)
	AuthPerUser  int           // attempts per username per window (10)
	AuthWindow   time.Duration // the rate-limit window (1 minute)
	TLS          bool          // served over TLS: HSTS and Secure cookies
	Logger       *slog.Logger  // slog.Default()
	Limits       Limits        // per-account and per-IP rates of actions (none)
	QuotaMB      int           // photos each account may keep, in MiB (0: no limit)
	// ReportError sends 5xx answers and panics to an error tracker
	// (optional); it must not block.
	ReportError func(ErrorReport)
	// MapTiles is an optional raster tile URL template with {z}, {x} and
	// {y} for the photo map; without it the map draws the embedded land
	// shapes and needs nothing online.
	MapTiles       string
	MapAttribution string // credit shown under tiles
	// TrustedProxies are the reverse proxies whose ProxyHeader says who
	// the client is (see clientIPs); from any other peer the header is
	// ignored and the socket's address counts.
	TrustedProxies []netip.Prefix
	ProxyHeader    string // "X-Forwarded-For" (the default) or "Forwarded"
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	MetricsToken string
	// MetricsElsewhere: the metrics are served by MetricsHandler on a
	// listener of their own, and the app's /metrics answers 404.
	MetricsElsewhere bool
}

// setDefaults fills the zero fields with their defaults.
func (cfg *Config) setDefaults() {
	if cfg.MaxJSONBytes <= 0 {
		cfg.MaxJSONBytes = 64 << 10
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 32 << 20
	}
	if cfg.AuthPerIP <= 0 {
		cfg.AuthPerIP = 20
	}
	if cfg.AuthPerUser <= 0 {
		cfg.AuthPerUser = 10
	}
	if cfg.AuthWindow <= 0 {
		cfg.AuthWindow = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
}

// Deps are the packages the web layer calls.
type Deps struct {
	Store Store
	Auth  *auth.Service
	Media *media.Processor
	// MediaKey signs URLs of files only some viewers may fetch (32 bytes).
	MediaKey []byte
	Metrics  *Metrics // NewMetrics(Store) if nil
	// Ready reports whether storage and workers are ready; nil means ready.
	Ready func() error
	// Degraded, if set, says in a sentence what works only in part on a
	// ready server (a cluster node cut off from most of its cluster reads
	// but cannot write); "" when everything works.
	Degraded func() string
	// Wake tells the background workers that jobs were written (optional).
	Wake func()
	// Explore ranks recent posts for GET /api/v1/explore (optional).
	Explore Explorer
	// Search answers search, places and map queries.
	Search *search.Index
	// Disk reports the bytes of the database, index and photos (optional;
	// it may be slow, and is called at most once a minute).
	Disk func() DiskUsage
	// Hub carries live events to GET /api/v1/stream (optional).
	Hub *feed.Hub
	// Webhooks verifies the callbacks of real-time subscriptions (optional).
	Webhooks *feed.Webhooks
	// Push sends Web Push messages; its public key is served (optional).
	Push *feed.Pusher
	// Imports is the folder that uploaded archives are kept in while they
	// are imported (see transfer.Importer.Dir); "" turns imports off.
	Imports string
	// Exports is the folder that exports are written to and kept in for a
	// day (see transfer.Exporter.Dir); "" turns exports off.
	Exports string
	// Cluster reads the cluster's status on a node of a cluster; nil on
	// a single node, which then has no cluster section or metrics.
	Cluster ClusterStatus
	// Alerts builds the alert engine from the web layer's measurements
	// (optional; nil turns the Alerts tab's rules off). The caller runs
	// the engine it returns.
	Alerts func(alerts.Sources) *alerts.Engine
	// Accounts keeps the per-account rate limits (nil: NewAccountLimiter,
	// this process's own buckets); see AccountLimiter.
	Accounts AccountLimiter
}

// Server is the fiber app with aperture's routes.
type Server struct {
	cfg       Config
	st        Store
	auth      *auth.Service
	media     *media.Processor
	urls      *mediaURLs
	metrics   *Metrics
	ready     func() error
	degraded  func() string
	wake      func()
	explore   Explorer
	search    *search.Index
	fragments *fragments[fragKey, []byte]
	cards     *fragments[cardKey, *cardHTML] // feed cards' HTML
	stats     *Recorder
	hub       *feed.Hub
	webhooks  *feed.Webhooks
	push      *feed.Pusher
	imports   string         // where uploaded archives wait ("" without imports)
	exports   string         // where exports are kept ("" without exports)
	cluster   *clusterCache  // nil on a single node
	alerts    *alerts.Engine // nil when alerts are off
	closing   chan struct{}  // closed by Shutdown: streams end
	disk      func() DiskUsage
	cookies   *cookies
	secure    headerSet // the headers every response carries
	limits    *pairLimiter
	actions   *actionLimits
	ui        *ui
	log       *slog.Logger
	app       *fiber.App
	api       huma.API
	opsCache  // the API's operations, for checking forms as the API checks requests
}

// New builds the app and registers every route.
func New(cfg Config, d Deps) *Server {
	cfg.setDefaults()
	if d.Metrics == nil {
		st, _ := d.Store.(*store.Store) // the database gauges need the store itself
		d.Metrics = NewMetrics(st)
	}
	if d.Ready == nil {
		d.Ready = func() error { return nil }
	}
	if need := int(d.Media.Config().MaxBytes) + 2<<20; cfg.MaxBodyBytes < need {
		cfg.MaxBodyBytes = need
	}
	s := &Server{cfg: cfg, st: d.Store, auth: d.Auth, media: d.Media, urls: &mediaURLs{key: d.MediaKey},
		metrics: d.Metrics, ready: d.Ready, degraded: d.Degraded, wake: d.Wake, explore: d.Explore, search: d.Search, log: cfg.Logger,
		fragments: newFragments[fragKey, []byte](50_000), cards: newFragments[cardKey, *cardHTML](20_000), cookies: newCookies(d.MediaKey, cfg.TLS)}
	s.stats, s.disk, s.hub, s.webhooks, s.push, s.closing = s.metrics.Stats, d.Disk, d.Hub, d.Webhooks, d.Push, make(chan struct{})
	s.imports, s.exports = d.Imports, d.Exports
	if d.Disk != nil {
		for kind, f := range map[string]func(DiskUsage) int64{"db": func(u DiskUsage) int64 { return u.DB },
			"index": func(u DiskUsage) int64 { return u.Index }, "media": func(u DiskUsage) int64 { return u.Media }} {
			s.metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_disk_bytes",
				Help: "Disk used, by kind: db, index, media.", ConstLabels: prometheus.Labels{"kind": kind}},
				func() float64 { return float64(f(d.Disk())) }))
		}
	}
	s.metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_fanout_lag_seconds",
		Help: "Age of the oldest pending fan-out job (0 when none)."}, func() float64 {
		t, err := d.Store.OldestJob(store.JobFanout)
		if err != nil || t.IsZero() {
			return 0
		}
		return time.Since(t).Seconds()
	}))
	if d.Cluster != nil {
		s.cluster = &clusterCache{src: d.Cluster}
		s.metrics.Registry.MustRegister(newClusterCollector(s.cluster, s.log))
	}
	if d.Alerts != nil {
		s.alerts = d.Alerts(s.alertSources())
		s.metrics.Registry.MustRegister(s.alerts.Collector())
	}
	proxies := make([]string, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		proxies[i] = p.String()
	}
	s.app = fiber.New(fiber.Config{
		AppName: "aperture",
		// X-Forwarded-Host and -Proto count only from trusted proxies.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          proxies,
		BodyLimit:               cfg.MaxBodyBytes,
		ErrorHandler:            s.fiberError,
		DisableStartupMessage:   true,
		ReadTimeout:             60 * time.Second,
		WriteTimeout:            60 * time.Second,
		IdleTimeout:             120 * time.Second,
		ReadBufferSize:          16 << 10,
		// A feed page (about 22 KB) leaves in one write with its headers.
		WriteBufferSize: 32 << 10,
	})
	s.secure = securityHeaders(cfg.TLS, cfg.MapTiles)
	s.app.Use(requestContext(newClientIPs(cfg.TrustedProxies, cfg.ProxyHeader)), recoverPanics(s.log, cfg.ReportError), accessLog(s.log, cfg.ReportError), s.metrics.observe, s.secure.middleware,
		s.guardHeaders, s.identify, s.limitActions)
	if d.Accounts == nil {
		d.Accounts = NewAccountLimiter(cfg)
	}
	s.actions = newActionLimits(cfg.Limits, d.Accounts, s.log)
	s.limits = newPairLimiter(kindSignIn, cfg.AuthPerIP, cfg.AuthPerUser, cfg.AuthWindow, d.Accounts, s.log, "Too many attempts")
	s.app.Use("/api/v1/auth", s.limitSignIn)

	hc := huma.DefaultConfig("aperture", cfg.Version)
	hc.Formats = map[string]huma.Format{"application/json": fastJSON, "json": fastJSON}
	hc.OpenAPIPath = "/api/openapi"
	hc.DocsPath = ""
	hc.SchemasPath = ""
	hc.CreateHooks = nil // no $schema links in bodies
	hc.Info.Description = "The JSON API of aperture, a self-hosted photo-sharing service."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	s.api = humafiber.New(s.app, hc)
	s.api.UseMiddleware(s.authenticate)

	s.registerHealth(s.api)
	s.registerMetrics(s.api)
	s.registerAccounts(s.api)
	s.registerUsers(s.api)
	s.registerMedia(s.api)
	s.registerPosts(s.api)
	s.registerGraph(s.api)
	s.registerSuggestions(s.api)
	s.registerFeeds(s.api)
	s.registerSearch(s.api)
	s.registerPreview(s.api)
	s.registerAdmin(s.api)
	s.registerCluster(s.api)
	s.registerAlerts(s.api)
	s.registerStream(s.api)
	s.registerSubscriptions(s.api)
	s.registerPush(s.api)
	s.registerMediaFiles(s.api)
	s.registerImports(s.api)
	s.registerExports(s.api)
	ui, err := newUI(s.uiFuncs())
	if err != nil {
		panic("web: embedded templates: " + err.Error()) // a build defect, caught by every test
	}
	s.ui = ui
	s.registerPages()
	return s
}

// App returns the fiber app (tests call App().Test).
func (s *Server) App() *fiber.App { return s.app }

// API returns the huma API, whose OpenAPI document describes every route.
func (s *Server) API() huma.API { return s.api }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	return s.app.ShutdownWithContext(ctx)
}

// fastJSON encodes responses with goccy/go-json (same output as
// encoding/json, about twice as fast on feed pages) and decodes requests
// with encoding/json, whose error messages huma reports to clients.
var fastJSON = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		if done, err := writePreEncoded(w, v); done {
			return err
		}
		enc := gojson.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	},
	Unmarshal: huma.DefaultJSONFormat.Unmarshal,
}

// bearer marks an operation as requiring a signed-in user.
var bearer = []map[string][]string{{"bearer": {}}}

// op sets an operation's JSON body limit and its default error statuses.
func (s *Server) op(o huma.Operation) huma.Operation {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = s.cfg.MaxJSONBytes
	}
	if o.Errors == nil {
		o.Errors = []int{http.StatusBadRequest, http.StatusUnprocessableEntity}
	}
	return o
}
