package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. Keys are fixed-width big-endian IDs; lists are composite
// keys owner(8)|item(8) in one flat bucket.
var (
	bMeta      = []byte("meta")      // "schema" → uint32 schema version
	bSeq       = []byte("seq")       // shard(2) → last ID assigned on that shard
	bUsers     = []byte("users")     // user ID → User
	bUsernames = []byte("usernames") // lower-case username → user ID
	bSessions  = []byte("sessions")  // session ID → Session
	bSpent     = []byte("spent")     // session ID | sha256(refresh token) → spent marker
	bMedia     = []byte("media")     // media ID → Media
	bBlobRefs  = []byte("blobrefs")  // blob hash (32) | media ID → nothing: who uses a blob
	bBlobGC    = []byte("blobgc")    // blob hash (32) → time it lost its last reference
	bMediaAge  = []byte("mediaage")  // unattached media: created (8, ms) | media ID → nothing

	bPosts       = []byte("posts")       // post ID → Post
	bUserPosts   = []byte("userposts")   // author | post → nothing (profile grid)
	bFollowing   = []byte("following")   // follower | followee → since (ms)
	bFollowers   = []byte("followers")   // followee | follower → since (ms)
	bRequests    = []byte("requests")    // target | requester → when (ms): pending follow requests
	bBlocks      = []byte("blocks")      // blocker | blocked → when
	bBlockedBy   = []byte("blockedby")   // blocked | blocker → when
	bLikes       = []byte("likes")       // post | user → when
	bComments    = []byte("comments")    // comment ID → Comment
	bPostComms   = []byte("postcomms")   // post | comment → nothing
	bInbox       = []byte("inbox")       // user | post → nothing: the home feed
	bInboxSize   = []byte("inboxsize")   // user → entries (uint32)
	bTags        = []byte("tags")        // tag | 0 | post → nothing
	bTagCounts   = []byte("tagcounts")   // tag → posts (uint32)
	bCelebs      = []byte("celebs")      // user → nothing: authors read at feed time
	bOutbox      = []byte("outbox")      // job ID → Job
	bDeadLetter  = []byte("deadletter")  // job ID → Job
	bActivity    = []byte("activity")    // user | activity ID → Activity
	bPlaces      = []byte("places")      // place ID → Place
	bPlacePosts  = []byte("placeposts")  // place | post → nothing
	bGeoCells    = []byte("geocells")    // len | geohash → posts (uint32) | newest post (8)
	bReports     = []byte("reports")     // report ID → Report
	bSettings    = []byte("settings")    // "instance" → Settings; "invite:" code → nothing
	bUsage       = []byte("usage")       // user → bytes of photos kept (uint64)
	bSubs        = []byte("subs")        // subscription ID → Subscription
	bPushSubs    = []byte("pushsubs")    // user | push subscription ID → nothing
	bPushSubData = []byte("pushsubdata") // push subscription ID → PushSubscription
	bRequested   = []byte("requested")   // requester | target → when (ms): the requester's side of a request
	bEdgeVer     = []byte("edgever")     // owner | kind (1) | other → version: each side's last change of an edge
	bActSource   = []byte("actsource")   // user | source job ID → nothing: activity already recorded
	bTagPublic   = []byte("tagpublic")   // tag → posts of public accounts (uint32)
	bUserLikes   = []byte("userlikes")   // user | post → nothing: what an account likes (in the post's partition)
	bUserComms   = []byte("usercomms")   // user | comment → nothing: what an account wrote (in the post's partition)
	bFollowersBy = []byte("followersby") // follower | followee → nothing: whom an account follows (in the followee's partition)
	bStanding    = []byte("standing")    // user → version (8) | suspended (1): as this partition knows it
	bImports     = []byte("imports")     // user | source | 0 | key → post ID | run ID: posts brought from elsewhere
	bImportRuns  = []byte("importruns")  // user | run ID → ImportRun
	bExportRuns  = []byte("exportruns")  // user | run ID → ExportRun
)

var keySchema = []byte("schema")

// idKeyed lists the buckets whose keys start with an ID (the record's own,
// or its owner's): each key lives in the partition of that ID's shard.
// Every other bucket is an aggregate that each partition keeps for its
// own records (tags, places, geocells, blob references, photo ages), a
// per-partition counter (seq, meta), or the global facts.
var idKeyed = map[string]bool{
	"users": true, "sessions": true, "spent": true, "media": true, "posts": true, "userposts": true,
	"following": true, "followers": true, "requests": true, "blocks": true, "blockedby": true,
	"likes": true, "comments": true, "postcomms": true, "inbox": true, "inboxsize": true,
	"celebs": true, "outbox": true, "deadletter": true, "activity": true, "reports": true,
	"usage": true, "pushsubs": true, "pushsubdata": true, "subs": true,
	"requested": true, "edgever": true, "actsource": true, "imports": true, "importruns": true, "exportruns": true,
}

// migration moves the schema from version to-1 to version to.
type migration struct {
	to   uint32
	name string
	up   func(tx *bolt.Tx) error
}

// migrations is the ordered list of schema steps. To change the layout,
// append a step; never edit a released one.
var migrations = []migration{
	{to: 1, name: "create the v1 buckets", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bSeq, bUsers, bUsernames, bSessions, bSpent} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
	{to: 2, name: "media buckets", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMedia, bBlobRefs, bBlobGC, bMediaAge} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
	{to: 3, name: "social buckets", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bPosts, bUserPosts, bFollowing, bFollowers, bRequests, bBlocks, bBlockedBy, bLikes,
			bComments, bPostComms, bInbox, bInboxSize, bTags, bTagCounts, bCelebs, bOutbox, bDeadLetter, bActivity} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
	{to: 4, name: "places", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bPlaces, bPlacePosts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
	{to: 5, name: "map cells, counted for the posts already placed", up: func(btx *bolt.Tx) error {
		if _, err := btx.CreateBucketIfNotExists(bGeoCells); err != nil {
			return err
		}
		tx := &Tx{tx: btx}
		return btx.Bucket(bPosts).ForEach(func(_, v []byte) error {
			p := new(Post)
			if err := decode(v, p); err != nil {
				return err
			}
			return tx.geoCount(p, 1)
		})
	}},
	{to: 6, name: "reports and instance settings", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bReports, bSettings} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
	{to: 7, name: "per-user photo usage, counted for the photos already kept", up: func(btx *bolt.Tx) error {
		if _, err := btx.CreateBucketIfNotExists(bUsage); err != nil {
			return err
		}
		tx := &Tx{tx: btx}
		return btx.Bucket(bMedia).ForEach(func(_, v []byte) error {
			m := new(Media)
			if err := decode(v, m); err != nil {
				return err
			}
			return tx.addUsage(m.OwnerID, m.Bytes())
		})
	}},
	{to: 8, name: "real-time subscriptions", up: func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bSubs)
		return err
	}},
	{to: 9, name: "web push subscriptions", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bPushSubs, bPushSubData} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
	{to: 10, name: "partitions: both sides of every edge, global facts out; public counts of tags, places and map cells; suspended accounts uncounted", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bRequested, bEdgeVer, bActSource, bTagPublic, bUserLikes, bUserComms, bFollowersBy, bStanding} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		// The requester's side of pending requests, from the target's.
		var reqs [][]byte
		if err := tx.Bucket(bRequests).ForEach(func(k, v []byte) error {
			reqs = append(reqs, append(append(append([]byte(nil), k[8:]...), k[:8]...), v...))
			return nil
		}); err != nil {
			return err
		}
		for _, r := range reqs {
			if err := tx.Bucket(bRequested).Put(r[:16], r[16:]); err != nil {
				return err
			}
		}
		if err := migrateVisibility(&Tx{tx: tx}); err != nil {
			return err
		}
		// Usernames, settings and invitations now live in the global
		// facts (copied there when the store opened).
		for _, b := range [][]byte{bUsernames, bSettings} {
			if tx.Bucket(b) != nil {
				if err := tx.DeleteBucket(b); err != nil {
					return err
				}
			}
		}
		return nil
	}},
	{to: 11, name: "imported posts, import and export runs", up: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bImports, bImportRuns, bExportRuns} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
}

// SchemaVersion returns the schema version this build writes.
func SchemaVersion() uint32 { return migrations[len(migrations)-1].to }

// migrate runs, all in one transaction, every step newer than the version
// stored in the meta bucket. A database without a meta bucket is version 0.
// A database newer than this build is refused.
func migrate(db *bolt.DB, steps []migration) error {
	return db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		var cur uint32
		if v := meta.Get(keySchema); len(v) == 4 {
			cur = binary.BigEndian.Uint32(v)
		}
		latest := steps[len(steps)-1].to
		if cur > latest {
			return Errorf(ErrUnavailable, "The database has schema version %d but this aperture build knows only up to %d; run a newer aperture.", cur, latest)
		}
		for _, m := range steps {
			if m.to <= cur {
				continue
			}
			if err := m.up(tx); err != nil {
				return fmt.Errorf("store: migration to v%d (%s): %w", m.to, m.name, err)
			}
			cur = m.to
		}
		var v [4]byte
		binary.BigEndian.PutUint32(v[:], cur)
		return meta.Put(keySchema, v[:])
	})
}

// Schema returns the schema version stored in the database.
func (s *Store) Schema() (uint32, error) {
	var v uint32
	err := s.parts[0].db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bMeta).Get(keySchema); len(b) == 4 {
			v = binary.BigEndian.Uint32(b)
		}
		return nil
	})
	return v, err
}
