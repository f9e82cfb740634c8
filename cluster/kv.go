package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"aperture/store"
)

// clusterMeta is what "aperture cluster init" decides once.
type clusterMeta struct {
	Partitions int       `json:"partitions"`
	Replicas   int       `json:"replicas"`
	At         time.Time `json:"at"`
	Token      string    `json:"token,omitempty"` // tells an init's retry its own value
}

// Init prepares a fresh cluster: the buckets, the object store and one
// stream per partition, replicated on replicas nodes. Each step is asked
// again until ctx ends while JetStream settles (a request sent while its
// leaders are being elected goes unanswered). It fails with
// store.ErrConflict if the cluster was initialised before.
func Init(ctx context.Context, js jetstream.JetStream, partitions, replicas int) error {
	if partitions < 1 || partitions > store.MaxPartitions {
		return store.Invalid("partitions", "A cluster has 1 to %d partitions.", store.MaxPartitions)
	}
	var meta jetstream.KeyValue
	err := settle(ctx, func(ctx context.Context) (err error) {
		meta, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucketMeta, Replicas: replicas, History: 1})
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: create %s: %w", bucketMeta, err)
	}
	if _, err := meta.Get(ctx, "cluster"); err == nil {
		return store.Errorf(store.ErrConflict, "This cluster was initialised already.")
	}
	for _, b := range []string{bucketLeases, bucketGlobal, bucketNodes} {
		if err := settle(ctx, func(ctx context.Context) error {
			_, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b, Replicas: replicas, History: 1})
			return err
		}); err != nil {
			return fmt.Errorf("cluster: create %s: %w", b, err)
		}
	}
	if err := settle(ctx, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: objectsMedia, Replicas: replicas, Storage: jetstream.FileStorage})
		return err
	}); err != nil {
		return fmt.Errorf("cluster: create %s: %w", objectsMedia, err)
	}
	for p := range partitions {
		if err := settle(ctx, func(ctx context.Context) error {
			_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
				Name:        streamName(p),
				Subjects:    []string{subjectLog + strconv.Itoa(p)},
				Replicas:    replicas,
				Storage:     jetstream.FileStorage,
				Retention:   jetstream.LimitsPolicy,
				Duplicates:  2 * time.Minute,
				AllowDirect: true, // a replica answers reads while the leader is being elected
			})
			return err
		}); err != nil {
			return fmt.Errorf("cluster: create the log of partition %d: %w", p, err)
		}
	}
	// The last step decides: of two inits racing, one creates the key.
	// A retry of this one finds its own value (told by the token).
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	b, _ := json.Marshal(clusterMeta{Partitions: partitions, Replicas: replicas, At: time.Now().UTC(), Token: token})
	return settle(ctx, func(ctx context.Context) error {
		_, err := meta.Create(ctx, "cluster", b)
		if errors.Is(err, jetstream.ErrKeyExists) {
			var m clusterMeta
			if e, gerr := meta.Get(ctx, "cluster"); gerr == nil && json.Unmarshal(e.Value(), &m) == nil && m.Token == token {
				return nil
			}
			return store.Errorf(store.ErrConflict, "This cluster was initialised already.")
		}
		return err
	})
}

// settle runs step, each try bounded to a few seconds, until it succeeds,
// fails with an error of the store's (a decision, not a timeout), or ctx
// ends.
func settle(ctx context.Context, step func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := step(c)
		cancel()
		var se *store.Error
		if err == nil || errors.As(err, &se) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(min(attempt+1, 5)) * 200 * time.Millisecond):
		}
	}
}

func streamName(part int) string { return streamPrefix + strconv.Itoa(part) }

// open looks up a bucket, stream or object store, trying again while
// JetStream elects its leaders (a whole cluster starting at once), until
// ctx ends.
func open[T any](ctx context.Context, log *slog.Logger, what string, look func(context.Context) (T, error)) (T, error) {
	var v T
	tries := 0
	err := settle(ctx, func(c context.Context) error {
		var err error
		if v, err = look(c); err != nil {
			if tries++; tries%5 == 0 {
				log.Warn("waiting for the cluster's storage", "what", what, "error", err)
			}
		}
		return err
	})
	if err != nil {
		return v, fmt.Errorf("cluster: %s: %w", what, err)
	}
	return v, nil
}

// WaitInit waits until the cluster was initialised and returns its
// partition count and replication factor.
func (n *Node) WaitInit(ctx context.Context) (partitions, replicas int, err error) {
	logged := false
	for {
		kv, err := n.js.KeyValue(ctx, bucketMeta)
		if err == nil {
			if e, err := kv.Get(ctx, "cluster"); err == nil {
				var m clusterMeta
				if err := json.Unmarshal(e.Value(), &m); err != nil {
					return 0, 0, err
				}
				return m.Partitions, m.Replicas, nil
			}
		}
		if !logged {
			n.log.Info("waiting for the cluster to be initialised (aperture cluster init)")
			logged = true
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// KV is a JetStream key-value bucket as store.KV: the global facts of a
// cluster.
type KV struct{ kv jetstream.KeyValue }

// GlobalKV returns the cluster's bucket of global facts.
func (n *Node) GlobalKV(ctx context.Context) (*KV, error) {
	kv, err := open(ctx, n.log, bucketGlobal, func(c context.Context) (jetstream.KeyValue, error) { return n.js.KeyValue(c, bucketGlobal) })
	if err != nil {
		return nil, err
	}
	return &KV{kv}, nil
}

// kvTimeout bounds one attempt of a key-value operation, and kvPatience
// all of its attempts: while a bucket elects a new leader (a node went
// down) operations fail for a few seconds, and are tried again.
const (
	kvTimeout  = 2 * time.Second
	kvPatience = 15 * time.Second
)

func kvctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), kvTimeout)
}

// retry runs op until it succeeds, fails for a reason of its own (a
// missing key, a compare-and-swap lost), or kvPatience runs out.
func retry[T any](op func() (T, error)) (T, error) {
	deadline := time.Now().Add(kvPatience)
	for attempt := 0; ; attempt++ {
		v, err := op()
		if err == nil || !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(time.Duration(min(attempt+1, 5)) * 100 * time.Millisecond)
	}
}

// Get returns a key's value and revision, or store.ErrNotFound.
func (k *KV) Get(key string) ([]byte, uint64, error) {
	type got struct {
		v   []byte
		rev uint64
	}
	g, err := retry(func() (got, error) { v, rev, err := k.get(key); return got{v, rev}, err })
	return g.v, g.rev, err
}

func (k *KV) get(key string) ([]byte, uint64, error) {
	ctx, cancel := kvctx()
	defer cancel()
	e, err := k.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, store.Errorf(store.ErrNotFound, "%s was not found.", key)
	}
	if err != nil {
		return nil, 0, unavailable(err)
	}
	return e.Value(), e.Revision(), nil
}

// Create stores a new key; store.ErrConflict if it exists.
func (k *KV) Create(key string, value []byte) (uint64, error) {
	return retry(func() (uint64, error) { return k.create(key, value) })
}

func (k *KV) create(key string, value []byte) (uint64, error) {
	ctx, cancel := kvctx()
	defer cancel()
	rev, err := k.kv.Create(ctx, key, value)
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, store.Errorf(store.ErrConflict, "%s exists.", key)
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return rev, nil
}

// Update replaces a key's value if its revision is still rev;
// store.ErrConflict otherwise.
func (k *KV) Update(key string, value []byte, rev uint64) (uint64, error) {
	return retry(func() (uint64, error) { return k.update(key, value, rev) })
}

func (k *KV) update(key string, value []byte, rev uint64) (uint64, error) {
	ctx, cancel := kvctx()
	defer cancel()
	nrev, err := k.kv.Update(ctx, key, value, rev)
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, store.Errorf(store.ErrConflict, "%s changed meanwhile.", key)
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return nrev, nil
}

// Delete removes a key if its revision is still rev (any, if 0).
func (k *KV) Delete(key string, rev uint64) error {
	_, err := retry(func() (struct{}, error) { return struct{}{}, k.delete(key, rev) })
	return err
}

func (k *KV) delete(key string, rev uint64) error {
	ctx, cancel := kvctx()
	defer cancel()
	var opts []jetstream.KVDeleteOpt
	if rev != 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	err := k.kv.Delete(ctx, key, opts...)
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return store.Errorf(store.ErrConflict, "%s changed meanwhile.", key)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Keys returns the keys that start with prefix, in order.
func (k *KV) Keys(prefix string) ([]string, error) {
	return retry(func() ([]string, error) { return k.keys(prefix) })
}

func (k *KV) keys(prefix string) ([]string, error) {
	ctx, cancel := kvctx()
	defer cancel()
	l, err := k.kv.ListKeys(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	defer l.Stop()
	var out []string
	for key := range l.Keys() {
		if strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Close does nothing: the bucket belongs to the node.
func (k *KV) Close() error { return nil }

// Keys is a bucket entry as an auth.KeyStore: a signing key the nodes
// share. Save replaces it only if nobody changed it since it was loaded,
// so two nodes rotating at once cannot both win.
type Keys struct {
	kv  *KV
	key string
	rev uint64
}

// KeyStore returns the shared signing key called name.
func (n *Node) KeyStore(ctx context.Context, name string) (*Keys, error) {
	kv, err := n.GlobalKV(ctx)
	if err != nil {
		return nil, err
	}
	return &Keys{kv: kv, key: "keys/" + name}, nil
}

// Load returns the saved key, or an error wrapping fs.ErrNotExist.
func (k *Keys) Load() ([]byte, error) {
	v, rev, err := k.kv.Get(k.key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", k.key, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	k.rev = rev
	return v, nil
}

// Save replaces the key if it is unchanged since Load (or creates it).
func (k *Keys) Save(b []byte) error {
	var rev uint64
	var err error
	if k.rev == 0 {
		rev, err = k.kv.Create(k.key, b)
	} else {
		rev, err = k.kv.Update(k.key, b, k.rev)
	}
	if err != nil {
		return err
	}
	k.rev = rev
	return nil
}

// unavailable says a cluster operation failed for a reason a client can
// retry.
func unavailable(err error) error {
	return fmt.Errorf("%w: %v", store.Errorf(store.ErrUnavailable, "The cluster did not answer in time; try again in a moment."), err)
}
