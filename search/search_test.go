package search_test

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"aperture/feed"
	"aperture/search"
	"aperture/store"
	"aperture/store/storetest"
)

type env struct {
	once sync.Once
	t    *testing.T
	dir  string
	st   *store.Store
	idx  *search.Index
	pool *feed.Pool
	n    int
}

func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := storetest.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(filepath.Join(dir, "search"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := feed.NewPool(st, feed.Config{Poll: 2 * time.Millisecond}, nil)
	pool.HandleBatch(store.JobIndexPost, idx.HandlePosts)
	pool.HandleBatch(store.JobIndexUser, idx.HandleUsers)
	pool.Start()
	e := &env{t: t, dir: dir, st: st, idx: idx, pool: pool}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.once.Do(func() {
		e.pool.Stop()
		e.idx.Close()
		e.st.Close()
	})
}

func (e *env) drain() {
	e.t.Helper()
	e.pool.Wake()
	for range 5000 {
		if s, _ := e.st.OutboxStats(); s.Depth == 0 && e.idx.Ready() {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	e.t.Fatal("outbox did not drain")
}

func (e *env) user(name string) *store.User {
	u, err := store.Exec(context.Background(), e.st, store.CreateUser{Meta: store.At(time.Now()), Username: name, PasswordHash: "x", DisplayName: "The " + name})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) post(u *store.User, caption string, loc *store.Location) *store.Post {
	e.t.Helper()
	e.n++
	ctx := context.Background()
	m, err := store.Exec(ctx, e.st, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: u.ID, Hash: fmt.Sprintf("%064x", e.n), Width: 1, Height: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := store.Exec(ctx, e.st, store.CreatePost{Meta: store.At(time.Now()), AuthorID: u.ID, Caption: caption, MediaIDs: []store.ID{m.ID}, Location: loc})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// city is a named point (a local type, so the table can be unkeyed).
type city struct {
	Name     string
	Lat, Lon float64
}

func (c city) loc() *store.Location { return &store.Location{Name: c.Name, Lat: c.Lat, Lon: c.Lon} }

// cities are ~50 real cities (lat, lon).
var cities = []city{
	{"Lisbon", 38.7223, -9.1393}, {"Madrid", 40.4168, -3.7038}, {"Paris", 48.8566, 2.3522}, {"London", 51.5074, -0.1278},
	{"Berlin", 52.52, 13.405}, {"Rome", 41.9028, 12.4964}, {"Athens", 37.9838, 23.7275}, {"Istanbul", 41.0082, 28.9784},
	{"Cairo", 30.0444, 31.2357}, {"Nairobi", -1.2921, 36.8219}, {"Lagos", 6.5244, 3.3792}, {"Cape Town", -33.9249, 18.4241},
	{"Moscow", 55.7558, 37.6173}, {"Dubai", 25.2048, 55.2708}, {"Tehran", 35.6892, 51.389}, {"Karachi", 24.8607, 67.0011},
	{"Mumbai", 19.076, 72.8777}, {"Delhi", 28.7041, 77.1025}, {"Kathmandu", 27.7172, 85.324}, {"Dhaka", 23.8103, 90.4125},
	{"Bangkok", 13.7563, 100.5018}, {"Hanoi", 21.0278, 105.8342}, {"Singapore", 1.3521, 103.8198}, {"Jakarta", -6.2088, 106.8456},
	{"Manila", 14.5995, 120.9842}, {"Hong Kong", 22.3193, 114.1694}, {"Shanghai", 31.2304, 121.4737}, {"Beijing", 39.9042, 116.4074},
	{"Seoul", 37.5665, 126.978}, {"Tokyo", 35.6762, 139.6503}, {"Sydney", -33.8688, 151.2093}, {"Auckland", -36.8485, 174.7633},
	{"Suva", -18.1248, 178.4501}, {"Honolulu", 21.3069, -157.8583}, {"Anchorage", 61.2181, -149.9003}, {"Vancouver", 49.2827, -123.1207},
	{"San Francisco", 37.7749, -122.4194}, {"Los Angeles", 34.0522, -118.2437}, {"Mexico City", 19.4326, -99.1332}, {"Chicago", 41.8781, -87.6298},
	{"New York", 40.7128, -74.006}, {"Toronto", 43.6532, -79.3832}, {"Havana", 23.1136, -82.3666}, {"Bogotá", 4.711, -74.0721},
	{"Lima", -12.0464, -77.0428}, {"Santiago", -33.4489, -70.6693}, {"Buenos Aires", -34.6037, -58.3816}, {"São Paulo", -23.5505, -46.6333},
	{"Reykjavík", 64.1466, -21.9426}, {"Longyearbyen", 78.2232, 15.6267}, {"McMurdo", -77.846, 166.676},
}

func haversineKm(a, b city) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

// TestNearbyOrderMatchesHaversine posts from every city and checks, for
// several centres, that nearby returns exactly the cities within the
// radius, in the order an independent haversine gives.
func TestNearbyOrderMatchesHaversine(t *testing.T) {
	e := newEnv(t, "")
	u := e.user("globetrotter")
	byPost := map[store.ID]city{}
	for _, c := range cities {
		p := e.post(u, "view of "+c.Name, c.loc())
		byPost[p.ID] = c
	}
	e.drain()
	for _, centre := range []city{cities[0], cities[29], cities[32], cities[40], cities[50]} {
		for _, radius := range []float64{1500, 5000} {
			ids, err := e.idx.Near(centre.Lat, centre.Lon, radius, 100)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			type cd struct {
				name string
				d    float64
			}
			var all []cd
			for _, c := range cities {
				if d := haversineKm(centre, c); d <= radius {
					all = append(all, cd{c.Name, d})
				}
			}
			sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d })
			for _, c := range all {
				want = append(want, c.name)
			}
			var got []string
			for i, id := range ids {
				got = append(got, byPost[id].Name)
				// Nearest first; cities within 0.5% of each other may
				// swap (bleve's and this haversine's Earth radius differ).
				if i > 0 && haversineKm(centre, byPost[ids[i-1]]) > haversineKm(centre, byPost[id])*1.005 {
					t.Fatalf("near %s: %s listed before the nearer %s", centre.Name, byPost[ids[i-1]].Name, byPost[id].Name)
				}
			}
			sort.Strings(got)
			sort.Strings(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("near %s within %.0f km:\n got %v\nwant %v", centre.Name, radius, got, want)
			}
		}
	}
}

func TestMapBoxes(t *testing.T) {
	e := newEnv(t, "")
	u := e.user("mapper")
	names := map[store.ID]string{}
	for _, c := range cities {
		names[e.post(u, c.Name, c.loc()).ID] = c.Name
	}
	e.drain()
	got := func(b string) map[string]bool {
		box, err := search.ParseBox(b)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := e.idx.Map(box, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, id := range ids {
			out[names[id]] = true
		}
		return out
	}
	// Across the antimeridian: Fiji and Auckland, not Sydney or Honolulu.
	fiji := got("170,-40,-170,-10")
	if !fiji["Suva"] || !fiji["Auckland"] || fiji["Sydney"] || fiji["Honolulu"] || len(fiji) != 2 {
		t.Fatalf("antimeridian box: %v", fiji)
	}
	if arctic := got("-180,75,180,90"); !arctic["Longyearbyen"] || len(arctic) != 1 {
		t.Fatalf("arctic box: %v", arctic)
	}
	if antarctic := got("-180,-90,180,-70"); !antarctic["McMurdo"] || len(antarctic) != 1 {
		t.Fatalf("antarctic box: %v", antarctic)
	}
	if europe := got("-10,35,30,60"); !europe["Paris"] || !europe["Lisbon"] || europe["Cairo"] || europe["Tokyo"] {
		t.Fatalf("europe: %v", europe)
	}
	// Clusters are cells of the store's counters: the world at the
	// precision a world-wide box asks for holds every post.
	world, _ := search.ParseBox("-180,-90,180,90")
	cells, err := e.st.GeoCells(world.Precision(), -90, -180, 90, 180)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range cells {
		total += c.Count
	}
	if world.Precision() != 1 || total != len(cities) || len(cells) < 5 {
		t.Fatalf("world: precision %d, %d cells, %d posts", world.Precision(), len(cells), total)
	}
}

func TestBadGeoInput(t *testing.T) {
	e := newEnv(t, "")
	for _, b := range []string{"", "1,2,3", "a,b,c,d", "0,10,10,0", "-181,0,0,10", "0,-91,10,0", "NaN,0,1,1"} {
		if _, err := search.ParseBox(b); err == nil {
			t.Errorf("box %q accepted", b)
		}
	}
	for _, tc := range [][3]float64{{91, 0, 10}, {0, 181, 10}, {0, 0, 0}, {0, 0, -5}, {0, 0, 20001}, {math.NaN(), 0, 10}} {
		if _, err := e.idx.Near(tc[0], tc[1], tc[2], 10); err == nil {
			t.Errorf("near %v accepted", tc)
		}
	}
	long := make([]byte, 10<<10)
	for i := range long {
		long[i] = 'a'
	}
	for _, q := range []string{"", "   ", string(long)} {
		if _, err := e.idx.Posts(q, 10); err == nil {
			t.Errorf("query of %d bytes accepted", len(q))
		}
	}
	// Query syntax is not interpreted.
	for _, q := range []string{"+caption:x -foo", "*", "field:\"", "~2 ^3 (a OR b", "/re.*/"} {
		if _, err := e.idx.Posts(q, 10); err != nil {
			t.Errorf("query %q: %v", q, err)
		}
		if _, err := e.idx.Users(q, 10); err != nil {
			t.Errorf("user query %q: %v", q, err)
		}
	}
}

// TestIndexFollowsTheStore runs random creates, edits and deletes, then
// checks that each live post's unique word finds exactly it, and deleted
// posts are gone.
func TestIndexFollowsTheStore(t *testing.T) {
	e := newEnv(t, "")
	u := e.user("writer")
	rng := rand.New(rand.NewSource(3))
	word := func(i int) string { return fmt.Sprintf("zq%dxw", i) }
	live := map[store.ID]string{}
	var dead []string
	var ids []store.ID
	for i := range 150 {
		switch {
		case len(ids) > 0 && rng.Intn(5) == 0:
			k := rng.Intn(len(ids))
			id := ids[k]
			if _, err := store.Exec(context.Background(), e.st, store.DeletePost{Meta: store.At(time.Now()), ActorID: u.ID, PostID: id}); err != nil {
				t.Fatal(err)
			}
			dead = append(dead, live[id])
			delete(live, id)
			ids = append(ids[:k], ids[k+1:]...)
		case len(ids) > 0 && rng.Intn(4) == 0:
			id := ids[rng.Intn(len(ids))]
			dead = append(dead, live[id])
			w := word(1000 + i)
			if _, err := store.Exec(context.Background(), e.st, store.EditCaption{Meta: store.At(time.Now()), ActorID: u.ID, PostID: id, Caption: "edited " + w}); err != nil {
				t.Fatal(err)
			}
			live[id] = w
		default:
			p := e.post(u, "hello "+word(i), nil)
			live[p.ID] = word(i)
			ids = append(ids, p.ID)
		}
	}
	e.drain()
	for id, w := range live {
		got, err := e.idx.Posts(w, 10)
		if err != nil || len(got) != 1 || got[0] != id {
			t.Fatalf("%s finds %v, want [%d]", w, got, id)
		}
	}
	for _, w := range dead {
		if got, _ := e.idx.Posts(w, 10); len(got) != 0 {
			t.Fatalf("gone word %s still finds %v", w, got)
		}
	}
}

// TestRebuildAfterLosingTheIndex deletes the index directory, reopens,
// and gets the same answers once the background rebuild is done.
func TestRebuildAfterLosingTheIndex(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	alice := e.user("alice")
	e.user("alina")
	for i, c := range cities[:10] {
		e.post(alice, fmt.Sprintf("#sunset number %d in %s", i, c.Name), c.loc())
	}
	e.drain()
	answers := func(e *env) string {
		u, _ := e.idx.Users("ali", 10)
		p, _ := e.idx.Posts("#sunset", 20)
		n, _ := e.idx.Near(38.7, -9.1, 3000, 20)
		pl, _ := e.idx.Places("lis", 5)
		return fmt.Sprint(len(u), len(p), n, pl)
	}
	before := answers(e)
	e.close()
	if err := os.RemoveAll(filepath.Join(dir, "search")); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, dir)
	e2.drain() // waits for the background rebuild (Ready) too
	if after := answers(e2); after != before {
		t.Fatalf("after rebuild %s, before %s", after, before)
	}
}

func TestTypeahead(t *testing.T) {
	e := newEnv(t, "")
	e.user("alice")
	e.user("bob")
	u := e.user("carol")
	e.post(u, "Watching the #sunset", &store.Location{Name: "Lisbon", Lat: 38.72, Lon: -9.14})
	e.drain()
	ids, _ := e.idx.Users("ali", 10)
	if len(ids) != 1 {
		t.Fatalf("ali finds %d users", len(ids))
	}
	pl, _ := e.idx.Places("lis", 10)
	if len(pl) != 1 {
		t.Fatalf("lis finds %d places", len(pl))
	}
	// The place leaves the index with its last post.
	posts, _ := e.st.RecentPostIDs(u.ID, 10)
	store.Exec(context.Background(), e.st, store.DeletePost{Meta: store.At(time.Now()), ActorID: u.ID, PostID: posts[0]})
	e.drain()
	if pl, _ := e.idx.Places("lis", 10); len(pl) != 0 {
		t.Fatalf("a place without posts is still found: %v", pl)
	}
}

// TestIndexHoldsWhatSearchMayFind: a place only non-public posts use, a
// suspended account and its posts leave the index — as jobs keep it and
// when it is rebuilt — and come back with the account's standing.
func TestIndexHoldsWhatSearchMayFind(t *testing.T) {
	ctx := context.Background()
	tiny := &store.Location{Name: "Tinyhaven", Lat: 10.5, Lon: 20.5}
	box := search.Box{MinLon: 20, MinLat: 10, MaxLon: 21, MaxLat: 11}
	for _, tc := range []struct {
		name               string
		hide, show         func(e *env, admin, u *store.User)
		placeOnly, rebuild bool // only the place (and map) leaves; rebuild the index while hidden
	}{
		{name: "going private", placeOnly: true,
			hide: func(e *env, _, u *store.User) { setPrivate(e, u, true) }, show: func(e *env, _, u *store.User) { setPrivate(e, u, false) }},
		{name: "a suspension", hide: func(e *env, a, u *store.User) { suspend(e, a, u, true) }, show: func(e *env, a, u *store.User) { suspend(e, a, u, false) }},
		{name: "a suspension, rebuilt", rebuild: true,
			hide: func(e *env, a, u *store.User) { suspend(e, a, u, true) }, show: func(e *env, a, u *store.User) { suspend(e, a, u, false) }},
		{name: "going private, rebuilt", placeOnly: true, rebuild: true,
			hide: func(e *env, _, u *store.User) { setPrivate(e, u, true) }, show: func(e *env, _, u *store.User) { setPrivate(e, u, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			e := newEnv(t, dir)
			admin, err := store.Exec(ctx, e.st, store.CreateUser{Meta: store.At(time.Now()), Username: "boss", PasswordHash: "x", Admin: true})
			if err != nil {
				t.Fatal(err)
			}
			u := e.user("quokka")
			e.post(u, "dawn at the zqquokkaxw", tiny)
			e.drain()
			found := func(e *env) (users, posts, places, onMap int) {
				us, _ := e.idx.Users("quok", 10)
				ps, _ := e.idx.Posts("zqquokkaxw", 10)
				pl, _ := e.idx.Places("tinyh", 10)
				m, _ := e.idx.Map(box, 10)
				return len(us), len(ps), len(pl), len(m)
			}
			want := func(e *env, when string, shown bool) {
				t.Helper()
				one := map[bool]int{false: 0, true: 1}
				us, ps, pl, m := found(e)
				wu, wp := one[shown], one[shown]
				if tc.placeOnly {
					wu, wp = 1, 1 // a private account and its posts stay findable; the store filters them per viewer
				}
				if us != wu || ps != wp || pl != one[shown] || m != one[shown] {
					t.Fatalf("%s: %d users, %d posts, %d places, %d on the map; want %d, %d, %d, %d", when, us, ps, pl, m, wu, wp, one[shown], one[shown])
				}
			}
			want(e, "before", true)
			tc.hide(e, admin, u)
			e.drain()
			if tc.rebuild {
				e.close()
				os.RemoveAll(filepath.Join(dir, "search"))
				e = newEnv(t, dir)
				e.drain()
			}
			want(e, "hidden", false)
			tc.show(e, admin, u)
			e.drain()
			want(e, "shown again", true)
		})
	}
}

func setPrivate(e *env, u *store.User, on bool) {
	e.t.Helper()
	if _, err := store.Exec(context.Background(), e.st, store.UpdateProfile{Meta: store.At(time.Now()), UserID: u.ID, Private: &on}); err != nil {
		e.t.Fatal(err)
	}
}

func suspend(e *env, admin, u *store.User, on bool) {
	e.t.Helper()
	if _, err := store.Exec(context.Background(), e.st, store.SetSuspended{Meta: store.At(time.Now()), AdminID: admin.ID, UserID: u.ID, Suspended: on}); err != nil {
		e.t.Fatal(err)
	}
}
