package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// A partition's history is a log of entries. Each entry is one group
// commit: the commands that were committed together, in order, each as its
// registered type name, version and encoding. Applying an entry is
// deterministic: a command that fails is a no-op on every replica (it
// fails the same way everywhere), and the entry's sequence number becomes
// the partition's lastApplied in the same transaction as its data. That is
// what lets cluster mode replicate a partition by shipping its log.

// Entry is one command in a log entry.
type Entry struct {
	Type    string          `json:"type"`
	Version uint16          `json:"v"`
	Data    json.RawMessage `json:"data"`
}

// LogEntry is one group commit: the commands applied together, and the
// sequence number it takes in its partition's log.
type LogEntry struct {
	Seq      uint64  `json:"seq"`
	Commands []Entry `json:"commands"`
}

// LogSink receives every log entry of a partition just before the
// transaction that applies it commits. An error rolls the transaction
// back and fails every command in it (in cluster mode the sink is the
// partition's replicated stream, and a refused append means this node no
// longer owns the partition).
type LogSink interface {
	Append(partition int, seq uint64, entry []byte) error
}

// commandType is a registered command: its name in the log, its version,
// and how to decode and run it.
type commandType struct {
	name    string
	version uint16
	decode  func(data []byte) (runner, error)
	exec    func(ctx context.Context, s *Store, cmd any) (any, error)
}

// runner is a decoded command of any type: the non-generic face of
// Command[R].
type runner interface {
	Shard() uint16
	run(tx *Tx) (any, error)
	isBulk() bool
}

// typed wraps a Command[R] as a runner.
type typed[R any] struct{ cmd Command[R] }

func (t typed[R]) Shard() uint16 { return t.cmd.Shard() }
func (t typed[R]) unwrap() any   { return t.cmd }
func (t typed[R]) isBulk() bool {
	_, ok := any(t.cmd).(bulkCommand)
	return ok
}

func (t typed[R]) run(tx *Tx) (any, error) {
	tx.now = t.cmd.Time()
	return t.cmd.apply(tx)
}

// registry lists every command type by name and by Go type.
var registry = struct {
	byName map[string]*commandType
	byType map[reflect.Type]*commandType
}{byName: map[string]*commandType{}, byType: map[reflect.Type]*commandType{}}

// register adds command type C, whose apply returns R, under name at
// version. Names and types are registered once.
func register[C Command[R], R any](name string, version uint16) {
	t := reflect.TypeFor[C]()
	if _, dup := registry.byName[name]; dup {
		panic("store: command " + name + " registered twice")
	}
	if _, dup := registry.byType[t]; dup {
		panic("store: command type " + t.String() + " registered twice")
	}
	ct := &commandType{name: name, version: version, decode: func(data []byte) (runner, error) {
		var c C
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("store: decode command %s: %w", name, err)
		}
		return typed[R]{c}, nil
	}, exec: func(ctx context.Context, s *Store, cmd any) (any, error) {
		return Exec[R](ctx, s, cmd.(C))
	}}
	registry.byName[name], registry.byType[t] = ct, ct
}

// CommandTypes returns the names of every registered command, sorted.
func CommandTypes() []string {
	out := make([]string, 0, len(registry.byName))
	for n := range registry.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// typeOf returns the registration of a command value, or nil.
func typeOf(cmd any) *commandType { return registry.byType[reflect.TypeOf(cmd)] }

// EncodeCommand returns a command as a log entry's element. It fails for
// a type that is not registered.
func EncodeCommand(cmd any) (Entry, error) {
	ct := typeOf(cmd)
	if ct == nil {
		return Entry{}, fmt.Errorf("store: command type %T is not registered", cmd)
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return Entry{}, fmt.Errorf("store: encode command %s: %w", ct.name, err)
	}
	return Entry{Type: ct.name, Version: ct.version, Data: b}, nil
}

// decodeEntry returns the command an entry holds, ready to run. It fails
// for an unknown type or version, or bytes that do not decode.
func decodeEntry(e Entry) (runner, error) {
	ct := registry.byName[e.Type]
	if ct == nil {
		return nil, fmt.Errorf("store: unknown command type %q in the log", e.Type)
	}
	if e.Version != ct.version {
		return nil, fmt.Errorf("store: command %s has version %d in the log; this build applies version %d", e.Type, e.Version, ct.version)
	}
	return ct.decode(e.Data)
}

// Apply runs one logged command in tx: the single, non-generic entry
// point through which a log is replayed. It returns the command's result
// and error; a command that fails leaves tx as the caller must then
// treat it (see applyBatch).
func Apply(tx *Tx, e Entry) (any, error) {
	r, err := decodeEntry(e)
	if err != nil {
		return nil, err
	}
	tx.shard = r.Shard()
	return r.run(tx)
}

// Replay applies log entries of partition part, each as LogSink
// received it and in log order: the path every replica of a partition
// takes. Consecutive entries are applied in one transaction (a replica
// catching up commits hundreds of entries at a time, not one). An entry
// at or below the partition's lastApplied was applied before and changes
// nothing. It fails with ErrConflict when entries are missing before one
// (a gap; nothing of the call is applied then), and with ErrInvalid when
// an entry does not decode.
func (s *Store) Replay(part int, entries ...[]byte) error {
	if part < 0 || part >= len(s.parts) {
		return Errorf(ErrInvalid, "There is no partition %d.", part)
	}
	logged := make([]loggedBatch, len(entries))
	for i, data := range entries {
		var e LogEntry
		if err := json.Unmarshal(data, &e); err != nil {
			return Errorf(ErrInvalid, "A log entry of partition %d does not decode: %v", part, err)
		}
		batch := make([]*pending, len(e.Commands))
		for j := range e.Commands {
			ent := e.Commands[j]
			r, err := decodeEntry(ent)
			if err != nil {
				return err
			}
			batch[j] = &pending{done: make(chan struct{}), shard: r.Shard(), entry: &ent,
				run: func(tx *Tx) error { _, err := r.run(tx); return err }}
		}
		logged[i] = loggedBatch{seq: e.Seq, batch: batch}
	}
	return s.parts[part].c.replay(logged)
}

var keyApplied = []byte("applied")

// lastApplied returns the sequence number of the last log entry applied
// in tx's partition (0 for none).
func (t *Tx) lastApplied() uint64 {
	if v := t.tx.Bucket(bMeta).Get(keyApplied); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (t *Tx) setApplied(seq uint64) error {
	return t.tx.Bucket(bMeta).Put(keyApplied, binary.BigEndian.AppendUint64(nil, seq))
}

// LastApplied returns the sequence number of the last log entry applied
// to partition part.
func (s *Store) LastApplied(part int) (uint64, error) {
	var seq uint64
	if part < 0 || part >= len(s.parts) {
		return 0, Errorf(ErrInvalid, "There is no partition %d.", part)
	}
	err := s.parts[part].db.View(func(btx *bolt.Tx) error {
		seq = (&Tx{tx: btx}).lastApplied()
		return nil
	})
	return seq, err
}
