package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"

	"aperture/feed"
	"aperture/media"
	"aperture/store"
)

// DemoPassword is the password of every seeded account.
const DemoPassword = "aperture-demo"

type seedOptions struct {
	users, posts int
	noImages     bool
	seed         int64
}

// seedCommand runs "aperture seed": a believable community for demos, or,
// with --no-images, a large dataset for benchmarks.
func seedCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs, check := cfg.flagSet("aperture seed", getenv, stderr)
	var o seedOptions
	fs.IntVar(&o.users, "users", 50, "accounts to create")
	fs.IntVar(&o.posts, "posts", 0, "posts to create (default: 4 per account)")
	fs.BoolVar(&o.noImages, "no-images", false, "skip photo processing (benchmark datasets); photo files will be missing")
	fs.Int64Var(&o.seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	if o.posts <= 0 {
		o.posts = 4 * o.users
	}
	if o.users < 2 || o.users > 1_000_000 {
		return errors.New("--users must be between 2 and 1,000,000")
	}
	st, err := openStore(cfg.Data, store.Options{Partitions: cfg.Partitions})
	if err != nil {
		return err
	}
	defer st.Close()
	s := &seeder{st: st, o: o, dataDir: cfg.Data, rng: rand.New(rand.NewSource(o.seed)), out: stdout,
		proc: media.New(media.Config{Wait: time.Hour}, media.FileBlobs{Dir: filepath.Join(cfg.Data, "media")})}
	return s.run(ctx)
}

type seeder struct {
	dataDir string
	st      *store.Store
	proc    *media.Processor
	o       seedOptions
	rng     *rand.Rand
	out     io.Writer
	users   []*store.User
	clock   time.Time
}

// at returns the next command time: the seed's story runs forward from
// two weeks ago, a few seconds per step.
func (s *seeder) at(step time.Duration) store.Meta {
	s.clock = s.clock.Add(step)
	return store.At(s.clock)
}

func (s *seeder) run(ctx context.Context) error {
	start := time.Now()
	s.clock = start.Add(-14 * 24 * time.Hour)
	hash, err := argon2id.CreateHash(DemoPassword, &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		return err
	}
	if err := s.createUsers(ctx, hash); err != nil {
		return err
	}
	follows, err := s.follow(ctx)
	if err != nil {
		return err
	}
	// Across partitions, a follow reaches its followee's side through the
	// outbox: let it, so the posts below find their authors' followers.
	if s.st.Partitions() > 1 {
		if err := s.finishJobs(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.out, "%d accounts, %d follows (%.1fs)\n", len(s.users), follows, time.Since(start).Seconds())
	t := time.Now()
	posts, err := s.share(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "%d posts in %.1fs (%.0f posts/s)\n", len(posts), time.Since(t).Seconds(), float64(len(posts))/time.Since(t).Seconds())
	if err := s.engage(ctx, posts); err != nil {
		return err
	}
	t = time.Now()
	n, err := s.inboxes(ctx)
	if err != nil {
		return err
	}
	// The search index is derived data: the server rebuilds it at its next
	// start (the seed removes it), so the seed's index jobs are not needed;
	// nor, for bulk data whose inboxes were built directly, the follows'
	// backfills and the activity.
	kinds := []string{store.JobIndexPost, store.JobIndexUser}
	if s.o.noImages {
		kinds = append(kinds, store.JobBackfill, store.JobActivity)
	}
	if err := os.RemoveAll(filepath.Join(s.dataDir, "search")); err != nil {
		return err
	}
	{
		for part := range s.st.Partitions() {
			for {
				d, err := store.Exec(ctx, s.st, store.DiscardJobs{Meta: s.at(0), On: store.PartitionShard(part), Kinds: kinds, Limit: 50_000})
				if err != nil {
					return err
				}
				if d == 0 {
					break
				}
			}
		}
	}
	fmt.Fprintf(s.out, "%d home-feed entries in %.1fs\n", n, time.Since(t).Seconds())
	if err := s.finishJobs(ctx); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "done in %.1fs; every account's password is %q (try %s)\n", time.Since(start).Seconds(), DemoPassword, s.users[0].Username)
	return nil
}

var (
	firstNames = []string{"maya", "tomas", "ines", "kenji", "amara", "lucas", "freya", "omar", "sofia", "nils", "leila", "mateo",
		"hana", "felix", "zara", "ivan", "noor", "elio", "greta", "ravi", "chloe", "jonas", "aiko", "diego", "lena", "samir"}
	suffixes = []string{"", ".lens", "_shoots", ".film", "_in_color", ".wanders", "_snaps", ".light", "_35mm", ".north"}
	bios     = []string{"Chasing light.", "Film and coffee.", "Weekend wanderer.", "Street, mostly.", "Mountains > beaches.",
		"Sunsets and city lights.", "Shooting on whatever is in my pocket.", "Plants, cats, the sea.", ""}
	tags = []string{"sunset", "streetphotography", "travel", "nature", "cityscape", "filmisnotdead", "goldenhour", "mountains",
		"coffee", "architecture", "beach", "nightsky", "portrait", "minimal", "autumn", "foodie", "roadtrip", "blackandwhite"}
	captions = []string{"What a light this evening", "Found this corner by accident", "Could stay here forever", "Another day, another walk",
		"The colours did all the work", "Quiet morning", "Back where it started", "No filter needed (used one anyway)",
		"Weekend mood", "Postcard from here", "This view though", "Lost track of time"}
	comments = []string{"Stunning!", "Love the colours", "Where is this?", "This is beautiful", "Wow", "Great shot!",
		"Need to go there", "The light!", "So calm", "Framed perfectly"}
	// Real cities, for locations near which posts are placed.
	cities = []store.Location{{Name: "Lisbon", Lat: 38.7223, Lon: -9.1393}, {Name: "Tokyo", Lat: 35.6762, Lon: 139.6503},
		{Name: "New York", Lat: 40.7128, Lon: -74.0060}, {Name: "Reykjavík", Lat: 64.1466, Lon: -21.9426},
		{Name: "Cape Town", Lat: -33.9249, Lon: 18.4241}, {Name: "Buenos Aires", Lat: -34.6037, Lon: -58.3816},
		{Name: "Istanbul", Lat: 41.0082, Lon: 28.9784}, {Name: "Mumbai", Lat: 19.0760, Lon: 72.8777},
		{Name: "Sydney", Lat: -33.8688, Lon: 151.2093}, {Name: "Mexico City", Lat: 19.4326, Lon: -99.1332},
		{Name: "Berlin", Lat: 52.5200, Lon: 13.4050}, {Name: "Marrakesh", Lat: 31.6295, Lon: -7.9811},
		{Name: "Vancouver", Lat: 49.2827, Lon: -123.1207}, {Name: "Hanoi", Lat: 21.0278, Lon: 105.8342},
		{Name: "Suva", Lat: -18.1248, Lon: 178.4501}, {Name: "Oslo", Lat: 59.9139, Lon: 10.7522}}
)

// parallel runs fn(i) for i in [0,n) on 64 goroutines, so the store's
// group commit batches the writes; it returns the first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func (s *seeder) createUsers(ctx context.Context, hash string) error {
	s.users = make([]*store.User, s.o.users)
	base := s.at(time.Second)
	return parallel(s.o.users, func(i int) error {
		name := firstNames[i%len(firstNames)] + suffixes[(i/len(firstNames))%len(suffixes)]
		if i >= len(firstNames)*len(suffixes) {
			name = fmt.Sprintf("%s%d", name, i)
		}
		// The first account (maya) administers the demo, so that its
		// admin area can be seen without stopping the server.
		u, err := store.Exec(ctx, s.st, store.CreateUser{Meta: store.At(base.At.Add(time.Duration(i) * time.Millisecond)), Username: name,
			PasswordHash: hash, DisplayName: strings.ToUpper(name[:1]) + strings.SplitN(name[1:], ".", 2)[0], Admin: i == 0})
		if errors.Is(err, store.ErrConflict) {
			u, err = s.st.UserByUsername(name)
		}
		if err != nil {
			return err
		}
		bio := bios[i%len(bios)]
		if _, err := store.Exec(ctx, s.st, store.UpdateProfile{Meta: base, UserID: u.ID, Bio: &bio}); err != nil {
			return err
		}
		s.users[i] = u
		return nil
	})
}

// follow builds a power-law graph: each account follows about 100 others
// (fewer in small communities), chosen by popularity ∝ 1/rank, so a few
// accounts gather very many followers.
func (s *seeder) follow(ctx context.Context) (int, error) {
	n := len(s.users)
	weights := make([]float64, n)
	total := 0.0
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 0.9)
		total += weights[i]
	}
	cum := make([]float64, n)
	acc := 0.0
	for i, w := range weights {
		acc += w / total
		cum[i] = acc
	}
	avg := min(100, n/3+1)
	type edge struct{ a, b int }
	var edges []edge
	for a := range n {
		k := max(1, int(float64(avg)*(0.3+1.4*s.rng.Float64())))
		seen := map[int]bool{a: true}
		for range k {
			b := sort.SearchFloat64s(cum, s.rng.Float64())
			if b < n && !seen[b] {
				seen[b] = true
				edges = append(edges, edge{a, b})
			}
		}
	}
	meta := s.at(time.Minute)
	err := parallel(len(edges), func(i int) error {
		e := edges[i]
		_, err := store.Exec(ctx, s.st, store.Follow{Meta: meta, FollowerID: s.users[e.a].ID, TargetID: s.users[e.b].ID})
		return err
	})
	return len(edges), err
}

// share creates the posts in time order over the last two weeks.
func (s *seeder) share(ctx context.Context) ([]*store.Post, error) {
	n := s.o.posts
	start := s.clock
	step := (time.Since(start) - time.Hour) / time.Duration(n+1)
	type plan struct {
		author  int
		caption string
		loc     *store.Location
		photos  int
		filter  string
		at      time.Time
	}
	plans := make([]plan, n)
	filters := media.Filters()
	for i := range plans {
		author := int(math.Pow(s.rng.Float64(), 1.6) * float64(len(s.users)))
		var tagList []string
		for range 1 + s.rng.Intn(3) {
			tagList = append(tagList, "#"+tags[s.rng.Intn(len(tags))])
		}
		p := plan{author: author, caption: captions[s.rng.Intn(len(captions))] + " " + strings.Join(tagList, " "),
			photos: 1, filter: filters[s.rng.Intn(len(filters))].Name, at: start.Add(time.Duration(i+1) * step)}
		if s.rng.Intn(6) == 0 {
			p.photos = 2 + s.rng.Intn(3)
		}
		if s.rng.Intn(3) > 0 {
			c := cities[s.rng.Intn(len(cities))]
			c.Lat += (s.rng.Float64() - 0.5) * 0.1
			c.Lon += (s.rng.Float64() - 0.5) * 0.1
			p.loc = &c
		}
		plans[i] = p
	}
	posts := make([]*store.Post, n)
	var done atomic.Int64
	err := parallel(n, func(i int) error {
		p := plans[i]
		author := s.users[p.author]
		var ids []store.ID
		for k := range p.photos {
			m, err := s.photo(ctx, author.ID, int64(i*10+k)+s.o.seed*1_000_003, p.filter, p.at)
			if err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		post, err := store.Exec(ctx, s.st, store.CreatePost{Meta: store.At(p.at), AuthorID: author.ID, Caption: p.caption,
			MediaIDs: ids, Location: p.loc, NoFanout: true})
		if err != nil {
			return err
		}
		posts[i] = post
		if d := done.Add(1); !s.o.noImages && d%25 == 0 {
			fmt.Fprintf(s.out, "  %d/%d posts\n", d, n)
		}
		return nil
	})
	s.clock = time.Now()
	return posts, err
}

// photo processes a generated picture through the real pipeline, or with
// --no-images only records one.
func (s *seeder) photo(ctx context.Context, owner store.ID, seed int64, filter string, at time.Time) (*store.Media, error) {
	if s.o.noImages {
		h := sha256.Sum256([]byte(fmt.Sprint(seed)))
		return store.Exec(ctx, s.st, store.CreateMedia{Meta: store.At(at), OwnerID: owner, Hash: hex.EncodeToString(h[:]), Width: 1080, Height: 1080,
			Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Filter: filter,
			Variants: map[string]store.MediaVariant{"thumb": {Width: 150, Height: 150}, "small": {Width: 320, Height: 320},
				"medium": {Width: 640, Height: 640}, "large": {Width: 1080, Height: 1080}, "full": {Width: 1080, Height: 1080}}})
	}
	w, h := 1080, 1080+270*int(seed%2)
	data := media.Synthetic(w, h, seed)
	var m *store.Media
	_, err := s.proc.Process(ctx, data, media.Edit{Filter: filter}, func(r *media.Result) error {
		variants := map[string]store.MediaVariant{}
		for k, v := range r.Variants {
			variants[k] = store.MediaVariant{Width: v.Width, Height: v.Height}
		}
		var err error
		m, err = store.Exec(ctx, s.st, store.CreateMedia{Meta: store.At(at), OwnerID: owner, Hash: r.Hash, Width: r.Width, Height: r.Height,
			Blurhash: r.Blurhash, Filter: r.Filter, Variants: variants})
		return err
	})
	return m, err
}

// engage adds likes (most posts a few, some many) and comments.
func (s *seeder) engage(ctx context.Context, posts []*store.Post) error {
	type act struct {
		user    int
		post    *store.Post
		comment string
	}
	var acts []act
	most := len(s.users) / 3
	if s.o.noImages {
		// Bulk datasets: engagement on the newest tenth of the posts, a
		// few likes each, so the load stays quick.
		posts = posts[len(posts)-len(posts)/10:]
		most = min(most, 20)
	}
	for _, p := range posts {
		likes := int(math.Min(float64(len(s.users)-1), math.Floor(math.Pow(s.rng.Float64(), 3)*float64(most)+1)))
		for range likes {
			acts = append(acts, act{user: s.rng.Intn(len(s.users)), post: p})
		}
		for range s.rng.Intn(4) {
			acts = append(acts, act{user: s.rng.Intn(len(s.users)), post: p, comment: comments[s.rng.Intn(len(comments))]})
		}
	}
	meta := s.at(time.Second)
	return parallel(len(acts), func(i int) error {
		a := acts[i]
		var err error
		if a.comment != "" {
			_, err = store.Exec(ctx, s.st, store.AddComment{Meta: meta, AuthorID: s.users[a.user].ID, PostID: a.post.ID, Text: a.comment})
		} else {
			_, err = store.Exec(ctx, s.st, store.Like{Meta: meta, UserID: s.users[a.user].ID, PostID: a.post.ID})
		}
		if errors.Is(err, store.ErrForbidden) || errors.Is(err, store.ErrNotFound) {
			return nil // a private account's post, or a block
		}
		return err
	})
}

// inboxes builds every home feed at once (the posts were created without
// fan-out jobs).
func (s *seeder) inboxes(ctx context.Context) (int, error) {
	var total atomic.Int64
	meta := s.at(time.Second)
	err := parallel(len(s.users), func(i int) error {
		cfg, err := s.st.Config(s.st.PartitionOf(s.users[i].ID.Shard()))
		if err != nil {
			return err
		}
		entries, err := s.st.InboxFor(s.users[i].ID, cfg.InboxCap)
		if err != nil {
			return err
		}
		n, err := store.Exec(ctx, s.st, store.RebuildInbox{Meta: meta, User: s.users[i].ID, Entries: entries})
		total.Add(int64(n))
		return err
	})
	return int(total.Load()), err
}

// finishJobs runs the jobs the seed queued (backfills, activity).
func (s *seeder) finishJobs(ctx context.Context) error {
	pool := feed.NewPool(s.st, feed.Config{}, nil)
	// The search index is rebuilt at the server's next start.
	noop := func(context.Context, *store.Job) error { return nil }
	pool.Handle(store.JobIndexPost, noop)
	pool.Handle(store.JobIndexUser, noop)
	pool.Start()
	defer pool.Stop()
	for {
		st, err := s.st.OutboxStats()
		if err != nil || st.Depth == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
