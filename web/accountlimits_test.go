package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"aperture/media"
	"aperture/store"
	"aperture/web"
)

// take is one call of an AccountLimiter.
type take struct {
	kind  string
	shard uint16
	key   string
}

// fakeAccounts is an AccountLimiter that records its takes and refuses
// (or fails) the kinds it is told to.
type fakeAccounts struct {
	mu     sync.Mutex
	takes  []take
	refuse map[string]bool
	fail   error
}

func (f *fakeAccounts) Take(_ context.Context, kind string, shard uint16, key string) (bool, int, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.takes = append(f.takes, take{kind, shard, key})
	if f.fail != nil {
		return false, 0, 0, f.fail
	}
	if f.refuse[kind] {
		return false, 0, 90 * time.Second, nil
	}
	return true, 41, 0, nil
}

func (f *fakeAccounts) last() take {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.takes) == 0 {
		return take{}
	}
	return f.takes[len(f.takes)-1]
}

func (f *fakeAccounts) set(refuse map[string]bool, fail error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse, f.fail = refuse, fail
}

// TestAccountLimiterDecides: the per-account half of every limit is
// asked of Deps.Accounts, with the action's kind, the account's ID and
// its shard (for sign-in attempts, the canonical username and the shard
// it hashes to); its refusal is a 429 problem with its wait in
// Retry-After, for the API and the forms alike; an error lets the
// request through and is logged; and the per-address limit stays this
// process's own.
func TestAccountLimiterDecides(t *testing.T) {
	f := &fakeAccounts{}
	one := web.Rate{N: 100, Per: time.Hour}
	ts := newServerDeps(t, web.Config{Limits: web.Limits{Likes: one, Reads: web.Rate{N: 1000, Per: time.Minute}, IPFactor: 1},
		AuthPerIP: 1000}, media.Config{}, func(d *web.Deps) { d.Accounts = f })
	tok, _ := ts.signup("ana")
	ana, err := ts.st.UserByUsername("ana")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.last(), (take{"signin", store.ShardForUsername("ana"), "ana"}); got != want {
		t.Fatalf("sign-up took %+v, want %+v", got, want)
	}
	p := ts.share(tok, "hello")
	like := "/api/v1/posts/" + p.ID.String() + "/like"

	r := ts.do("POST", like, tok, nil)
	if r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "41" || r.header.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("an allowed like: %d %v", r.status, r.header)
	}
	if got, want := f.last(), (take{"likes", ana.ID.Shard(), ana.ID.String()}); got != want {
		t.Fatalf("a like took %+v, want %+v", got, want)
	}

	// Refused by the account's budget.
	v := ts.visitor()
	v.signup("ben")
	v.get("/p/" + p.ID.String())
	f.set(map[string]bool{"likes": true, "signin": true}, nil)
	r = ts.do("POST", like, tok, nil)
	m := wantProblem(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") != "90" || r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("refusal headers: %v", r.header)
	}
	if m["detail"] != "You are doing that too often; wait 90 seconds and try again." {
		t.Fatalf("refusal: %v", m)
	}
	if r := v.post("/p/"+p.ID.String()+"/like", nil, false); r.status != http.StatusTooManyRequests {
		t.Fatalf("a refused like through the form: %d", r.status)
	}
	wantProblem(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "  ANA ", "password": "correct horse"}), http.StatusTooManyRequests)
	if got, want := f.last(), (take{"signin", store.ShardForUsername("ana"), "ana"}); got != want {
		t.Fatalf("a log-in took %+v, want %+v", got, want)
	}
	lv := ts.visitor()
	lv.get("/login")
	if r := lv.post("/login", url.Values{"username": {"Ana"}, "password": {"correct horse"}}, false); r.status != http.StatusTooManyRequests {
		t.Fatalf("a refused log-in form: %d", r.status)
	}

	// A limiter that cannot answer lets the request through, and says so
	// in the log.
	f.set(nil, errors.New("the budget's owner is unreachable"))
	if r := ts.do("DELETE", like, tok, nil); r.status != 200 {
		t.Fatalf("with a failing limiter: %d %s", r.status, r.body)
	}
	if log := ts.log.String(); !strings.Contains(log, "the budget's owner is unreachable") || !strings.Contains(log, "let through") {
		t.Fatal("the limiter's failure is not logged")
	}

	// The per-address limit is counted here: with IPFactor 1 the address
	// may like 100 times an hour, whatever the account limiter says.
	f.set(nil, nil)
	refusedAt := -1
	for i := range 110 {
		if r := ts.do("POST", like, tok, nil); r.status == http.StatusTooManyRequests {
			refusedAt = i
			break
		}
	}
	if refusedAt < 90 || refusedAt > 100 {
		t.Fatalf("the address was refused after %d more likes, want about 100", refusedAt)
	}
}
