package store

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// ID is a 64-bit identifier in Instagram's layout: 41 bits of milliseconds
// since Epoch, 13 bits of logical shard, 10 bits of per-shard sequence.
// IDs sort by creation time, and the shard is recoverable from any ID.
type ID uint64

// Epoch is the zero of the time part of an ID.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	shardBits = 13
	seqBits   = 10
	// Shards is the number of logical shards.
	Shards = 1 << shardBits
	maxSeq = 1<<seqBits - 1
	// maxMillis is the last millisecond an ID can carry (about 69 years).
	maxMillis = 1<<41 - 1
)

// MakeID returns the ID for the given time, shard and sequence number.
// Times before Epoch count as Epoch.
func MakeID(t time.Time, shard uint16, seq uint16) ID {
	return makeID(millis(t), shard, seq)
}

func makeID(ms int64, shard, seq uint16) ID {
	return ID(uint64(ms)<<(shardBits+seqBits) | uint64(shard&(Shards-1))<<seqBits | uint64(seq&maxSeq))
}

func millis(t time.Time) int64 {
	ms := t.Sub(Epoch).Milliseconds()
	if ms < 0 {
		return 0
	}
	if ms > maxMillis {
		return maxMillis
	}
	return ms
}

// Shard returns the logical shard the ID belongs to.
func (id ID) Shard() uint16 { return uint16(id>>seqBits) & (Shards - 1) }

// Seq returns the per-shard sequence part of the ID.
func (id ID) Seq() uint16 { return uint16(id) & maxSeq }

// Time returns the millisecond at which the ID was made.
func (id ID) Time() time.Time {
	return Epoch.Add(time.Duration(id>>(shardBits+seqBits)) * time.Millisecond)
}

func (id ID) ms() int64 { return int64(id >> (shardBits + seqBits)) }

// String returns the ID in decimal.
func (id ID) String() string { return strconv.FormatUint(uint64(id), 10) }

// MarshalText encodes the ID as a decimal string, so JSON carries it as a
// string (JavaScript numbers lose 64-bit precision).
func (id ID) MarshalText() ([]byte, error) { return strconv.AppendUint(nil, uint64(id), 10), nil }

// UnmarshalText parses a decimal ID ("0" is the zero ID, meaning none);
// it returns ErrInvalid for anything else.
func (id *ID) UnmarshalText(b []byte) error {
	if string(b) == "0" {
		*id = 0
		return nil
	}
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses a decimal ID in its canonical form (no sign, no leading
// zeros). It returns an ErrInvalid error for anything else.
func ParseID(s string) (ID, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 || s[0] == '0' {
		return 0, Errorf(ErrInvalid, "%q is not an aperture ID (a positive decimal number).", truncate(s, 32))
	}
	return ID(v), nil
}

// key returns the 8-byte big-endian form used in bbolt keys.
func (id ID) key() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return b[:]
}

func idFromKey(b []byte) ID { return ID(binary.BigEndian.Uint64(b)) }

// nextID returns the ID to assign after last (0 if none yet) for a command
// issued at t on shard. It is strictly greater than last, so a clock that
// steps back never repeats an ID; when the 1,024 sequence numbers of a
// millisecond are used up it borrows the next millisecond.
func nextID(last ID, t time.Time, shard uint16) (ID, error) {
	cand := makeID(millis(t), shard, 0)
	if cand > last {
		return cand, nil
	}
	if last.Seq() < maxSeq {
		return last + 1, nil
	}
	if last.ms() >= maxMillis {
		return 0, fmt.Errorf("store: shard %d has run out of IDs", shard)
	}
	return makeID(last.ms()+1, shard, 0), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
