package store

import (
	"context"
	"encoding/json"
)

// PartitionConfig is the instance configuration that apply reads. It is
// partition data, changed only by the Configure command, so that every
// replica of a partition applies its log with the same values whatever
// flags its node was started with.
type PartitionConfig struct {
	// CelebrityAt is the follower count from which an author's posts are
	// not fanned out but merged into feeds at read time.
	CelebrityAt int `json:"celebrity_at"`
	// InboxCap is how many posts a home-feed inbox keeps.
	InboxCap int `json:"inbox_cap"`
}

// defaultConfig is the configuration of a partition never configured.
var defaultConfig = PartitionConfig{CelebrityAt: 10_000, InboxCap: 1000}

var keyConfig = []byte("config")

// config returns the configuration of the partition t writes (or is
// focused on), read once per transaction.
func (t *Tx) config() PartitionConfig {
	if t.cfg != nil {
		return *t.cfg
	}
	c := defaultConfig
	if v := t.bucket(bMeta).Get(keyConfig); v != nil {
		json.Unmarshal(v, &c)
	}
	t.cfg = &c
	return c
}

// Configure sets a partition's configuration. Values of 0 or less are
// refused with ErrInvalid.
type Configure struct {
	Meta
	On     uint16          `json:"on"` // a shard of the partition configured
	Config PartitionConfig `json:"config"`
}

// Shard returns On.
func (c Configure) Shard() uint16 { return c.On }

func (c Configure) apply(tx *Tx) (PartitionConfig, error) {
	if c.Config.CelebrityAt <= 0 || c.Config.InboxCap <= 0 {
		return PartitionConfig{}, Invalid("config", "The celebrity threshold and the inbox cap must be positive.")
	}
	b, err := json.Marshal(c.Config)
	if err != nil {
		return PartitionConfig{}, err
	}
	tx.cfg = nil
	return c.Config, tx.set(bMeta, keyConfig, b)
}

// ApplyConfig brings the configuration of every partition this node owns
// (all of them, on one node) to the store's options, with a Configure
// command where they differ. Open runs it on one node; in a cluster the
// owner of a partition runs it when it takes the partition.
func (s *Store) ApplyConfig(ctx context.Context) error {
	want := PartitionConfig{CelebrityAt: s.opt.CelebrityAt, InboxCap: s.opt.InboxCap}
	for i := range s.parts {
		if s.opt.Router != nil && !s.opt.Router.Owns(i) {
			continue
		}
		var have PartitionConfig
		if err := s.viewPart(i, func(tx *Tx) error { have = tx.config(); return nil }); err != nil {
			return err
		}
		if have == want {
			continue
		}
		if _, err := Exec(ctx, s, Configure{Meta: At(timeNow()), On: PartitionShard(i), Config: want}); err != nil {
			return err
		}
	}
	return nil
}

// Config returns the configuration of partition part.
func (s *Store) Config(part int) (PartitionConfig, error) {
	var c PartitionConfig
	err := s.viewPart(part, func(tx *Tx) error { c = tx.config(); return nil })
	return c, err
}

// Fence is an entry that changes nothing. A partition's new owner writes
// one before it answers anything: its log then ends with an entry of the
// new owner's, so an entry a former owner still had on its way (expecting
// the log to end where it did before) is refused by the log.
type Fence struct {
	Meta
	On uint16 `json:"on"` // a shard of the partition fenced
}

// Shard returns On.
func (c Fence) Shard() uint16 { return c.On }

func (c Fence) apply(tx *Tx) (struct{}, error) { return struct{}{}, nil }

// Fence appends a Fence entry to partition part's log through this node's
// committer (not the owner's: the caller is the new owner, about to
// serve). It returns ErrNotOwner when the log refused it.
func (s *Store) Fence(ctx context.Context, part int) error {
	if part < 0 || part >= len(s.parts) {
		return Errorf(ErrInvalid, "There is no partition %d.", part)
	}
	_, err := submit(ctx, s, Command[struct{}](Fence{Meta: At(timeNow()), On: PartitionShard(part)}))
	return err
}
