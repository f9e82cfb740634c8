// Package cluster runs aperture on several nodes. Each node embeds a NATS
// server; the nodes' servers form one cluster through routes, and
// JetStream supplies everything that must never be home-made: each
// partition's replicated log (a stream with its own leader elections),
// the replicated key-value buckets (partition leases, the global facts,
// signing keys, node heartbeats) and the object store for photos.
//
// What this package adds is thin: leases that say which node applies a
// partition's fresh commands, the forwarding of a command to that owner,
// the loops that apply each partition's log on the other replicas, and
// the relay that carries live events and ended sessions between nodes on
// plain subjects (relay.go). None of it replicates data or reaches
// consensus by itself. It is the one package that imports NATS.
package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config is what a node is started with.
type Config struct {
	// Name names the node in the cluster; unique.
	Name string
	// Listen is the address the node's NATS server takes routes from the
	// other nodes on (host:port).
	Listen string
	// Routes are the other nodes' Listen addresses (seeds; the cluster
	// finds the rest).
	Routes []string
	// Secret authenticates routes and clients; every node has the same.
	Secret string
	// Client is the address of the NATS client port, for the aperture
	// cluster commands of this host (loopback; port 0 picks a free one).
	Client string
	// Dir holds JetStream's files and the node's cluster address file.
	Dir string
	// TLS, if set, encrypts routes.
	TLS *tls.Config
	// Replicas is how many nodes keep each partition's log, bucket and
	// object (3; at most the cluster's size).
	Replicas int
	// LeaseTTL is how long a partition's lease lasts without renewal
	// (2 s); owners renew it four times a TTL.
	LeaseTTL time.Duration
	// SyncInterval, if set, fsyncs JetStream's files at that interval
	// instead of after every write (the default: every write).
	SyncInterval time.Duration
	// Log receives the node's log lines.
	Log *slog.Logger
}

// The names of the cluster's JetStream resources.
const (
	bucketMeta   = "aperture-meta"   // "cluster" → clusterMeta
	bucketLeases = "aperture-leases" // "p.<n>" → lease
	bucketGlobal = "aperture-global" // the global facts (store.KV)
	bucketNodes  = "aperture-nodes"  // "<node>" → heartbeat
	objectsMedia = "aperture-media"  // photo files
	streamPrefix = "AP_P"            // + partition: its log
	subjectLog   = "aperture.log."   // + partition
	subjectExec  = "aperture.exec."  // + node (hex) "." partition: forwarded commands
	clientUser   = "aperture"
)

// Subjects the nodes tell each other on, outside any stream.
const (
	// SubjectEvents, followed by a user's ID, carries that user's live
	// events to the node their event stream is connected to.
	SubjectEvents = "aperture.events."
	// SubjectRevoked carries the IDs of sessions a node ended.
	SubjectRevoked = "aperture.revoked"
)

// Node is one running node: its NATS server, its connection and
// JetStream.
type Node struct {
	cfg Config
	log *slog.Logger
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream

	mu     sync.Mutex
	closed bool
}

// Start starts the node's NATS server with JetStream, joins the cluster
// through the routes, and connects to it. It returns once the server
// accepts connections; JetStream may still be electing its leaders (see
// WaitReady).
func Start(cfg Config) (*Node, error) {
	if cfg.Name == "" || cfg.Listen == "" || cfg.Secret == "" || cfg.Dir == "" {
		return nil, errors.New("cluster: a node needs a name, a listen address, a secret and a directory")
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 3
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 2 * time.Second
	}
	if cfg.Client == "" {
		cfg.Client = "127.0.0.1:0"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	host, port, err := splitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen address %q: %w", cfg.Listen, err)
	}
	chost, cport, err := splitHostPort(cfg.Client)
	if err != nil {
		return nil, fmt.Errorf("cluster: client address %q: %w", cfg.Client, err)
	}
	var routes []*url.URL
	for _, r := range cfg.Routes {
		if r = strings.TrimSpace(r); r == "" || r == cfg.Listen {
			continue
		}
		if _, _, err := splitHostPort(r); err != nil {
			return nil, fmt.Errorf("cluster: route %q: %w", r, err)
		}
		routes = append(routes, &url.URL{Scheme: "nats-route", User: url.UserPassword(clientUser, cfg.Secret), Host: r})
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if cport == 0 {
		cport = -1 // NATS reads 0 as its default port; -1 is any free one
	}
	if port == 0 {
		port = -1
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       chost,
		Port:       cport,
		Username:   clientUser,
		Password:   cfg.Secret,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		SyncAlways: cfg.SyncInterval == 0,
		Cluster: server.ClusterOpts{
			Name:      "aperture",
			Host:      host,
			Port:      port,
			Username:  clientUser,
			Password:  cfg.Secret,
			TLSConfig: cfg.TLS,
			// A node that stops answering but keeps its connections open
			// (paused, or its host frozen) is cut off in about three
			// seconds, not minutes: until then requests answered by any
			// replica (direct reads of the logs and buckets) may be
			// routed to it and wait.
			PingInterval: time.Second,
			MaxPingsOut:  3,
		},
		Routes:     routes,
		NoSigs:     true,
		MaxPayload: 8 << 20,
		// A graceful stop (StepDown, then Close) hands this node's raft
		// leaderships to the others at once and keeps its connections
		// until Close; these only bound a stop that never closes.
		LameDuckGracePeriod: 5 * time.Minute,
		LameDuckDuration:    10 * time.Minute,
	}
	if cfg.SyncInterval > 0 {
		opts.SyncInterval = cfg.SyncInterval
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	srv.SetLogger(natsLog{cfg.Log.With("node", cfg.Name)}, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("cluster: the NATS server of node %s did not start (is %s or %s taken?)", cfg.Name, cfg.Listen, cfg.Client)
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.UserInfo(clientUser, cfg.Secret), nats.Name(cfg.Name),
		nats.MaxReconnects(-1))
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("cluster: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Log.With("node", cfg.Name), srv: srv, nc: nc, js: js}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "client.url"), []byte(srv.ClientURL()), 0o600); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// ClientURL returns the address of the node's NATS client port.
func (n *Node) ClientURL() string { return n.srv.ClientURL() }

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Conn returns the node's connection to the cluster.
func (n *Node) Conn() *nats.Conn { return n.nc }

// Quorum reports whether JetStream's meta group has a leader as this node
// sees it: false once most of the cluster's nodes are gone, when writes
// wait and then fail. A follower notices when its election timer fires
// (4–9 s), a leader when it steps down for want of a majority (10–20 s).
func (n *Node) Quorum() bool {
	info, err := n.srv.Jsz(&server.JSzOptions{})
	return err == nil && info.Meta != nil && info.Meta.Leader != ""
}

// WaitReady waits until JetStream answers (its meta leader is elected,
// which needs a majority of the cluster's nodes), or ctx ends.
func (n *Node) WaitReady(ctx context.Context) error {
	for {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := n.js.AccountInfo(c)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: JetStream is not ready (%v); are a majority of the nodes up?", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// StepDown starts a graceful stop of the node's NATS server: the logs and
// buckets whose leader it is elect another leader at once (a kill leaves
// them waiting for an election timeout), and it takes no new
// leaderships. The node still replicates and serves this process until
// Close.
func (n *Node) StepDown() {
	go n.srv.LameDuckShutdown()
}

// Close disconnects and stops the node's NATS server.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	n.nc.Drain()
	n.nc.Close()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return h, port, nil
}

// Dial connects to a running node's client port (its client.url in dir)
// with the cluster's secret: for the aperture cluster commands.
func Dial(dir, secret string) (*nats.Conn, jetstream.JetStream, error) {
	b, err := os.ReadFile(filepath.Join(dir, "client.url"))
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: no running node in %s (%v)", dir, err)
	}
	nc, err := nats.Connect(strings.TrimSpace(string(b)), nats.UserInfo(clientUser, secret), nats.Timeout(5*time.Second))
	if errors.Is(err, nats.ErrAuthorization) {
		return nil, nil, fmt.Errorf("cluster: the node in %s refused the cluster secret: give the one the nodes were started with (--cluster-secret or APERTURE_CLUSTER_SECRET)", dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: connect to the node in %s: %w", dir, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}
