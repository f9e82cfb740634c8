package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"aperture/cluster"
	"aperture/feed"
	"aperture/media"
	"aperture/search"
	"aperture/store"
	"aperture/web/auth"
)

// node is what a server running as one node of a cluster holds beyond a
// single node: its NATS node and its part in every partition.
type node struct {
	n     *cluster.Node
	parts *cluster.Partitions
	kv    *cluster.KV
	tail  *search.Tail
	relay *cluster.Relay
	// limits keeps the rate limits of the accounts whose partitions this
	// node owns, and asks the owners for the others.
	limits *cluster.Limits
}

// storeOptions returns how to open the store: on one node the directory's
// own partitions; in a cluster, after joining it and waiting for it to be
// initialised, its partitions with their logs, leases and global facts.
func (m *Main) storeOptions(ctx context.Context) (store.Options, error) {
	opt := store.Options{Partitions: m.Config.Partitions, CelebrityAt: m.Config.CelebrityAt}
	c := m.Config.Cluster
	if !c.On {
		return opt, nil
	}
	tlsc, err := c.tls()
	if err != nil {
		return opt, err
	}
	n, err := cluster.Start(cluster.Config{Name: c.name(), Listen: c.Listen, Routes: c.routes(), Secret: c.Secret,
		Client: c.Client, Dir: filepath.Join(m.Config.Data, "nats"), TLS: tlsc, Log: m.log})
	if err != nil {
		return opt, err
	}
	m.node = &node{n: n}
	m.log.Info("joined the cluster", "node", n.Name(), "listen", c.Listen, "routes", c.Routes)
	if err := n.WaitReady(ctx); err != nil {
		return opt, err
	}
	parts, _, err := n.WaitInit(ctx)
	if err != nil {
		return opt, err
	}
	if m.node.parts, err = n.NewPartitions(ctx, parts); err != nil {
		return opt, err
	}
	if m.node.kv, err = n.GlobalKV(ctx); err != nil {
		return opt, err
	}
	opt.Partitions = parts
	opt.Log, opt.Router, opt.KV = m.node.parts, m.node.parts, m.node.kv
	opt.OnCommit = func(part int, c store.Changes) {
		if t := m.node.tail; t != nil {
			t.Take(part, c)
		}
	}
	return opt, nil
}

// keyStore returns where a signing key lives: a file in the data
// directory, or in a cluster the bucket every node reads.
func (m *Main) keyStore(ctx context.Context, name, file string) (auth.KeyStore, error) {
	if m.node == nil {
		return auth.FileKeys(filepath.Join(m.Config.Data, "keys", file)), nil
	}
	return m.node.n.KeyStore(ctx, name)
}

// shared runs fn, which loads or makes a key every node must share, again
// when another node made it first (its save lost the compare-and-swap).
func shared[T any](fn func() (T, error)) (T, error) {
	var v T
	var err error
	for range 5 {
		if v, err = fn(); !errors.Is(err, store.ErrConflict) {
			return v, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return v, err
}

// blobs returns where photo files live: the data directory, or in a
// cluster the object store cached there.
func (m *Main) photoBlobs(ctx context.Context) (media.Blobs, error) {
	local := media.FileBlobs{Dir: filepath.Join(m.Config.Data, "media")}
	if m.node == nil {
		return local, nil
	}
	return m.node.n.Blobs(ctx, local)
}

// joinWork starts, in a cluster, the node's part in the partitions (it
// catches up with every log, then takes leases), keeps the search index
// from the commits this node applies, and carries live events and ended
// sessions between nodes.
func (m *Main) joinWork(hub *feed.Hub) error {
	if m.node == nil {
		return nil
	}
	nd := m.node
	nd.tail = m.index.Tail(m.log)
	noop := func(context.Context, *store.Job) error { return nil }
	m.pool.Handle(store.JobIndexPost, noop) // each node indexes from its own commits
	m.pool.Handle(store.JobIndexUser, noop)
	relay, err := nd.n.NewRelay(hub.Deliver, m.auth.Forget)
	if err != nil {
		return err
	}
	nd.relay = relay
	hub.Relay = relay.Event
	m.auth.Ended = relay.Ended
	nd.parts.Attach(m.st)
	return nil
}

// leaveCluster gives up this node's leases (others take its partitions at
// once) and stops its cluster work; closeNode stops its NATS server, after
// the store is closed.
func (m *Main) leaveCluster() {
	if m.node == nil {
		return
	}
	if m.node.relay != nil {
		m.node.relay.Stop()
	}
	if m.node.limits != nil {
		m.node.limits.Stop()
	}
	if m.node.parts != nil {
		m.node.parts.Leave()
	}
	if m.node.tail != nil {
		m.node.tail.Stop()
	}
}

// handover gives this node's partitions to the others before the
// requests in flight drain: those are forwarded to the new owners.
func (m *Main) handover() {
	if m.node != nil && m.node.parts != nil {
		m.node.parts.Handover()
		m.node.n.StepDown()
	}
}

func (m *Main) closeNode() {
	if m.node != nil {
		m.node.n.Close()
	}
}

// vapidKeys loads the Web Push keys, making them on first start.
func (m *Main) vapidKeys(ctx context.Context) (public, private string, err error) {
	ks, err := m.keyStore(ctx, "vapid", "vapid.json")
	if err != nil {
		return "", "", err
	}
	var keys struct{ Public, Private string }
	b, err := ks.Load()
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &keys); err != nil || keys.Public == "" {
			return "", "", fmt.Errorf("the Web Push keys are damaged")
		}
		return keys.Public, keys.Private, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", err
	}
	if keys.Private, keys.Public, err = webpush.GenerateVAPIDKeys(); err != nil {
		return "", "", err
	}
	b, _ = json.Marshal(keys)
	if err := ks.Save(b); err != nil {
		return "", "", err
	}
	return keys.Public, keys.Private, nil
}

// clusterCommand runs "aperture cluster init" and "aperture cluster
// status" against the node running on this host.
func clusterCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: aperture cluster init --partitions 64 | aperture cluster status")
	}
	sub, args := args[0], args[1:]
	var cfg Config
	fs, check := cfg.flagSet("aperture cluster "+sub, getenv, stderr)
	replicas := fs.Int("replicas", 3, "init: how many nodes keep each partition's log")
	asJSON := fs.Bool("json", false, "status: print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	nc, js, err := cluster.Dial(filepath.Join(cfg.Data, "nats"), cfg.Cluster.Secret)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	switch sub {
	case "init":
		partitions := cfg.Partitions // --partitions: fixed for the cluster's life
		if partitions == 0 {
			partitions = 64
		}
		if err := cluster.Init(ctx, js, partitions, *replicas); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cluster initialised: %d partitions, each on %d nodes\n", partitions, *replicas)
		return nil
	case "status":
		st, err := cluster.ReadStatus(ctx, js)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(st)
		}
		st.Print(stdout)
		return nil
	}
	return fmt.Errorf("unknown cluster command %q (init or status)", sub)
}
