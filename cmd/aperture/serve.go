package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"aperture/alerts"
	"aperture/feed"
	"aperture/media"
	"aperture/search"
	"aperture/store"
	"aperture/transfer"
	"aperture/web"
	"aperture/web/auth"
)

// Main is the running server: configuration, storage, the HTTP server and
// the background workers. Run starts it and returns once it is serving;
// Close stops it.
type Main struct {
	Config Config
	stdout io.Writer
	stderr io.Writer

	log     *slog.Logger
	ln      net.Listener
	early   *earlyServer // answers "starting" until Run is done
	st      *store.Store
	auth    *auth.Service
	media   *media.Processor
	pool    *feed.Pool
	index   *search.Index
	srv     *web.Server
	control *http.Server
	served  chan error
	stopBG  context.CancelFunc
	flush   func() // the error tracker's queue
	bg      sync.WaitGroup
	closing sync.Once

	// metricsLn and metricsSrv serve /metrics on --metrics-addr.
	metricsLn  net.Listener
	metricsSrv *http.Server

	node *node // in a cluster

	alerts  *alerts.Engine // nil with --alerts=false
	backups *backupState   // nil without --backup-dir
}

// NewMain returns a Main that logs to stderr.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{stdout: stdout, stderr: stderr}
}

// ParseFlags reads the serve flags and their environment equivalents.
func (m *Main) ParseFlags(args []string, getenv func(string) string) error {
	fs, check := m.Config.flagSet("aperture serve", getenv, m.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return check()
}

// keyFile is where the JWT signing keys live inside the data directory.
func keyFile(data string) auth.FileKeys {
	return auth.FileKeys(filepath.Join(data, "keys", "jwt.json"))
}

// Run listens first, so that a taken address fails at once, and answers
// there that the server is starting (see earlyServer); then it opens
// storage (failing fast if another process holds it), starts workers and
// serves in the background. It returns once the server accepts requests.
func (m *Main) Run(ctx context.Context) (err error) {
	m.log = m.Config.logger(m.stderr)
	m.ln, err = net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", m.Config.Addr, err)
	}
	tcp := m.ln.(*net.TCPListener)
	if m.Config.TLSCert != "" || m.Config.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(m.Config.TLSCert, m.Config.TLSKey)
		if err != nil {
			m.ln.Close()
			return fmt.Errorf("TLS needs both --tls-cert and --tls-key, readable PEM files: %w", err)
		}
		m.ln = tls.NewListener(m.ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		m.Config.HTTPS = true
	}
	reason := "opening its storage"
	if m.Config.Cluster.On {
		reason = "joining its cluster and catching up with the partitions' logs"
	}
	m.early = startEarly(m.ln, tcp, web.Starting(version, reason))
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if err = m.listenMetrics(); err != nil {
		return err
	}
	// Warming comes first: opening walks every page of the file (to
	// rebuild bbolt's free-page list), faster once it is read in order.
	// Not when another process holds the files: Open then fails at once,
	// saying so, and reading them would only delay that.
	files := store.DataFiles(m.Config.Data)
	if m.Config.Warm && len(files) > 0 && !lockedByAnother(files[0]) {
		for _, db := range files {
			n, took, err := warm(db)
			if err != nil {
				return err
			}
			m.log.Info("warmed the database into memory", "file", filepath.Base(db), "bytes", n, "took", took.String())
		}
	}
	opt, err := m.storeOptions(ctx)
	if err != nil {
		return err
	}
	if m.st, err = openStore(m.Config.Data, opt); err != nil {
		return err
	}
	jwtKeys, err := m.keyStore(ctx, "jwt", "jwt.json")
	if err != nil {
		return err
	}
	if m.auth, err = shared(func() (*auth.Service, error) { return auth.NewService(m.st, jwtKeys, auth.Config{}, time.Now()) }); err != nil {
		return err
	}
	mediaKeys, err := m.keyStore(ctx, "media", "media.key")
	if err != nil {
		return err
	}
	mediaKey, err := shared(func() ([]byte, error) { return auth.LoadSecret(mediaKeys) })
	if err != nil {
		return err
	}
	blobs, err := m.photoBlobs(ctx)
	if err != nil {
		return err
	}
	m.media = media.New(media.Config{
		MaxBytes:     int64(m.Config.MaxUploadMB) << 20,
		MaxPixels:    int64(m.Config.MaxMegapixels) * 1_000_000,
		Decoders:     m.Config.Decoders,
		DecodeMemory: int64(m.Config.DecodeMemoryMB) << 20,
	}, blobs)
	if m.index, err = search.Open(filepath.Join(m.Config.Data, "search"), m.st, m.log); err != nil {
		return err
	}
	metrics := web.NewMetrics(m.st)
	poolCfg := feed.Config{FanoutBatch: m.Config.FanoutBatch}
	if m.node != nil {
		poolCfg.Owns = m.node.parts.Owns // each partition's outbox runs on its owner
	}
	m.pool = feed.NewPool(m.st, poolCfg, m.log)
	hub := feed.NewHub()
	m.pool.Hub = hub
	allow, err := parseAllow(m.Config.WebhookAllow)
	if err != nil {
		return err
	}
	webhooks := &feed.Webhooks{St: m.st, Allow: allow, Site: m.Config.PublicURL}
	webhooks.Register(m.pool)
	pusher, err := m.pusher(ctx, webhooks)
	if err != nil {
		return err
	}
	pusher.Register(m.pool)
	m.pool.HandleBatch(store.JobIndexPost, m.index.HandlePosts)
	m.pool.HandleBatch(store.JobIndexUser, m.index.HandleUsers)
	imports := filepath.Join(m.Config.Data, "imports")
	importer := &transfer.Importer{Store: m.st, Media: m.media, Dir: imports, QuotaMB: m.Config.QuotaMB, Step: 10,
		PlaceName: func(lat, lon float64) string { return m.index.PlaceNear(lat, lon, 1) }}
	m.pool.Handle(store.JobImport, importer.Handle)
	exports := filepath.Join(m.Config.Data, "exports")
	instance := m.Config.PublicURL
	if instance == "" {
		instance = "http://" + m.ln.Addr().String()
	}
	exporter := &transfer.Exporter{Store: m.st, Media: m.media, Dir: exports, Instance: strings.TrimRight(instance, "/")}
	m.pool.Handle(store.JobExport, exporter.Handle)
	if m.node != nil {
		imports, exports = "", "" // an archive on one node's disk, a job on another's: not yet
	}
	metrics.Registry.MustRegister(m.pool.Collectors()...)
	metrics.Registry.MustRegister(m.index.Collectors()...)
	explore := &feed.Explore{St: m.st, Log: m.log}
	proxies, err := parseTrustedProxies(m.Config.TrustedProxies)
	if err != nil {
		return err
	}
	var report func(web.ErrorReport)
	if m.Config.SentryDSN != "" {
		if report, m.flush, err = errorTracker(m.Config.SentryDSN, m.Config.Environment); err != nil {
			return err
		}
	}
	wcfg := web.Config{
		Version:      version,
		MaxBodyBytes: m.Config.MaxBodyMB << 20,
		AuthPerIP:    m.Config.AuthPerIP,
		AuthPerUser:  m.Config.AuthPerUser,
		Logger:       m.log,
		TLS:          m.Config.HTTPS,
		Limits:       m.Config.Limits,
		ReportError:  report,
		QuotaMB:      m.Config.QuotaMB,
		MapTiles:     m.Config.MapTiles, MapAttribution: m.Config.MapAttribution,
		TrustedProxies: proxies, ProxyHeader: m.Config.ProxyHeader,
		MetricsToken: m.Config.MetricsToken, MetricsElsewhere: m.Config.MetricsAddr != "",
	}
	deps := web.Deps{Store: m.st, Auth: m.auth, Media: m.media, MediaKey: mediaKey, Metrics: metrics,
		Wake: m.pool.Wake, Explore: explore, Search: m.index, Ready: m.ready, Degraded: m.degraded, Disk: (&diskUsage{data: m.Config.Data}).get, Hub: hub, Webhooks: webhooks, Push: pusher,
		Imports: imports, Exports: exports}
	if m.Config.BackupDir != "" {
		m.backups = newBackupState(m.Config.BackupEvery, time.Now())
	}
	if deps.Alerts, err = m.alertDeps(webhooks, metrics.Registry, m.backups); err != nil {
		return err
	}
	m.clusterWeb(wcfg, &deps)
	m.srv = web.New(wcfg, deps)

	bgCtx, cancel := context.WithCancel(context.Background())
	m.stopBG = cancel
	if err = m.startControl(); err != nil {
		return err
	}
	if err = m.joinWork(hub); err != nil {
		return err
	}
	m.pool.Start()
	if m.Config.BackupDir != "" {
		if err := os.MkdirAll(m.Config.BackupDir, 0o700); err != nil {
			return err
		}
		m.bg.Add(1)
		go func() {
			defer m.bg.Done()
			m.scheduledBackups(bgCtx)
		}()
	}
	m.bg.Add(5)
	go func() {
		defer m.bg.Done()
		m.runAlerts(bgCtx)
	}()
	go m.rotateKeys(bgCtx)
	go func() {
		defer m.bg.Done()
		everyMinute(bgCtx, m.srv.SampleAt)
	}()
	go func() {
		defer m.bg.Done()
		explore.Run(bgCtx)
	}()
	go func() {
		defer m.bg.Done()
		(&media.Sweeper{Records: m.st, Processor: m.media, Swept: metrics.Swept, Log: m.log}).Run(bgCtx)
	}()

	m.serveMetrics()
	m.served = make(chan error, 1)
	ln := m.early.handOver()
	go func() { m.served <- m.srv.Serve(ln) }()
	m.log.Info("listening", "addr", m.ln.Addr().String(), "data", m.Config.Data, "version", version)
	return nil
}

// ready reports whether the server is ready: the search index may still
// be rebuilding in the background.
func (m *Main) ready() error {
	if !m.index.Ready() {
		return store.Errorf(store.ErrUnavailable, "The search index is being rebuilt; search results are incomplete until it is done.")
	}
	return nil
}

// degraded says what works only in part: on a node of a cluster cut off
// from most of the others, writes (it still serves reads, so it stays
// ready: were it taken out of a load balancer, nothing would be left).
func (m *Main) degraded() string {
	if m.node != nil && !m.node.n.Quorum() {
		return "This node has lost touch with most of its cluster: it answers reads, but writes fail until enough nodes are back."
	}
	return ""
}

// Addr returns the address the server listens on (useful with port 0).
func (m *Main) Addr() string { return m.ln.Addr().String() }

// rotateKeys replaces the JWT signing key when it is due, checking hourly.
func (m *Main) rotateKeys(ctx context.Context) {
	defer m.bg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := m.auth.RotateKeysIfDue(now); err != nil {
				m.log.Error("rotate signing key", "error", err)
			}
		}
	}
}

// Close hands a cluster node's partitions to the other nodes, drains
// in-flight requests (up to the shutdown timeout), stops the
// workers and closes storage. It is safe to call more than once.
func (m *Main) Close() error {
	var errs []error
	m.closing.Do(func() {
		if m.early != nil {
			m.early.handOver() // if Run did not get there
		}
		m.handover()
		if m.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
			if err := m.srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("drain requests: %w", err))
			}
			cancel()
		} else if m.ln != nil {
			m.ln.Close()
		}
		m.closeMetrics()
		if m.control != nil {
			m.control.Close()
			os.Remove(controlSocket(m.Config.Data))
		}
		if m.stopBG != nil {
			m.stopBG()
			m.bg.Wait()
		}
		if m.pool != nil {
			m.pool.Stop()
		}
		m.leaveCluster()
		if m.index != nil {
			if err := m.index.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close search index: %w", err))
			}
		}
		if m.flush != nil {
			m.flush()
		}
		if m.st != nil {
			if err := m.st.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close storage: %w", err))
			}
		}
		m.closeNode()
	})
	return errors.Join(errs...)
}

// Serve runs until ctx is cancelled (SIGINT/SIGTERM) or the server fails,
// then shuts down gracefully.
func (m *Main) Serve(ctx context.Context) error {
	if err := m.Run(ctx); err != nil {
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
		m.log.Info("shutting down", "timeout", m.Config.ShutdownTimeout.String())
	case serveErr = <-m.served:
	}
	err := errors.Join(serveErr, m.Close())
	if err == nil {
		m.log.Info("stopped")
	}
	return err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// warm reads the database file once so its pages are in the page cache
// before the first request (what vmtouch did for the seed's servers).
func warm(path string) (int64, time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f)
	return n, time.Since(start), err
}

// healthCommand runs "aperture health": it asks a running server's
// /healthz and exits non-zero unless it answers 200 (for container
// health checks, where there is no curl).
func healthCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs, check := cfg.flagSet("aperture health", getenv, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	scheme := "http"
	client := &http.Client{Timeout: 5 * time.Second}
	if cfg.TLSCert != "" {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // our own certificate, on our own address
	}
	// Alive (/healthz), then ready (/readyz): the first check that fails
	// is named, so a cron job or a systemd timer says what is wrong.
	for _, c := range []struct{ path, name string }{{"/healthz", "alive"}, {"/readyz", "ready"}} {
		req, _ := http.NewRequestWithContext(ctx, "GET", scheme+"://"+cfg.Addr+c.path, nil)
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: the server at %s does not answer (%v)", c.name, cfg.Addr, err)
		}
		var body struct{ Status, Detail string }
		json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&body)
		res.Body.Close()
		switch {
		case res.StatusCode != http.StatusOK && body.Detail != "":
			return fmt.Errorf("%s: %s answered %s: %s", c.name, c.path, res.Status, body.Detail)
		case res.StatusCode != http.StatusOK:
			return fmt.Errorf("%s: %s answered %s", c.name, c.path, res.Status)
		case body.Status == "starting":
			return fmt.Errorf("%s: the server is still starting", c.name)
		case body.Status == "degraded":
			fmt.Fprintf(stdout, "degraded: %s\n", body.Detail)
			return nil // serving: a health check that failed here would restart a working node
		}
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// parseAllow reads --webhook-allow: addresses or CIDR ranges, by commas.
func parseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--webhook-allow: %q is not an address or a CIDR range", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// pusher makes the Web Push sender with the instance's VAPID keys (in
// DATA/keys/vapid.json, or the cluster's bucket), made on first start.
func (m *Main) pusher(ctx context.Context, net *feed.Webhooks) (*feed.Pusher, error) {
	keys, err := shared(func() ([2]string, error) {
		pub, priv, err := m.vapidKeys(ctx)
		return [2]string{pub, priv}, err
	})
	if err != nil {
		return nil, err
	}
	contact := m.Config.PushContact
	if contact == "" {
		contact = m.Config.PublicURL
	}
	if contact == "" {
		contact = "mailto:admin@localhost"
	}
	return &feed.Pusher{St: m.st, PublicKey: keys[0], PrivateKey: keys[1], Subscriber: contact, Net: net}, nil
}

// everyMinute calls fn with the time each minute until ctx ends: the
// admin charts' sampler.
func everyMinute(ctx context.Context, fn func(time.Time)) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}
