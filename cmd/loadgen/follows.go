package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// followFlow measures follows as clients make them: n follows, spread over
// the signed-in accounts, of seeded accounts each does not follow yet, at
// conns connections and timed; then it waits for the outbox to drain (the
// followee's side, the backfill of the follower's feed, the activity) and
// reports how long that took. Then the same follows are undone, timed and
// drained the same way, so the follow graph is left as it was.
func followFlow(client *http.Client, base string, tokens, names []string, conns, n int) error {
	pairs, err := followPairs(client, base, tokens, names, n)
	if err != nil {
		return err
	}
	if len(pairs) < n {
		fmt.Printf("follows: found %d accounts to follow, not %d\n", len(pairs), n)
	}
	for _, undo := range []bool{false, true} {
		method, label, what := "POST", "follow POST /api/v1/users/{name}/follow", "follows"
		if undo {
			method, label, what = "DELETE", "unfollow DELETE …/follow", "unfollows"
		}
		r := each(conns, len(pairs), func(i int) error {
			req, _ := http.NewRequest(method, base+"/api/v1/users/"+url.PathEscape(pairs[i].target)+"/follow", nil)
			req.Header.Set("Authorization", "Bearer "+pairs[i].token)
			return expect(client.Do(req))
		})
		r.print(label)
		if err := drain(client, base, "the "+what); err != nil {
			return err
		}
		if r.errs > 0 {
			return fmt.Errorf("%d of %d %s failed", r.errs, len(pairs), what)
		}
	}
	return nil
}

// drain waits, up to a minute, until the outbox is empty, and reports how
// long that took after the phase named by what.
func drain(client *http.Client, base, what string) error {
	t0 := time.Now()
	for time.Since(t0) < time.Minute {
		if outboxDepth(client, base) == 0 {
			fmt.Printf("outbox drained %.1f s after %s\n", time.Since(t0).Seconds(), what)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the outbox did not drain within a minute of %s", what)
}

// followPair is one signed-in account (by its token) and an account it
// does not follow.
type followPair struct{ token, target string }

// followPairs finds up to n pairs, taken in turn from each signed-in
// account, of accounts it neither is nor follows (nor has asked to):
// candidates are the followers of the signed-in accounts, read page by
// page. So that undoing the follows restores the graph, an account that
// is already followed is never chosen.
func followPairs(client *http.Client, base string, tokens, names []string, n int) ([]followPair, error) {
	per := (n + len(tokens) - 1) / len(tokens)
	follows := make([]map[string]bool, len(tokens))
	most := 0
	for i, name := range names {
		set, err := userList(client, base, tokens[i], name, "following", 5_000)
		if err != nil {
			return nil, err
		}
		follows[i] = map[string]bool{name: true}
		for _, f := range set {
			follows[i][f] = true
		}
		most = max(most, len(follows[i]))
	}
	// Enough candidates that every account finds per of them that it does
	// not follow, whatever it follows.
	var pool []string
	seen := map[string]bool{}
	for i := 0; i < len(names) && len(pool) < per+most; i++ {
		fs, err := userList(client, base, tokens[i], names[i], "followers", per+most-len(pool))
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if !seen[f] {
				seen[f] = true
				pool = append(pool, f)
			}
		}
	}
	chosen := make([][]string, len(tokens))
	for i := range tokens {
		// Each account starts at its own place in the pool, so the
		// followees differ from account to account.
		for k := 0; k < len(pool) && len(chosen[i]) < per; k++ {
			if f := pool[(k+i*len(pool)/len(tokens))%len(pool)]; !follows[i][f] {
				chosen[i] = append(chosen[i], f)
			}
		}
	}
	var pairs []followPair
	for k := 0; k < per && len(pairs) < n; k++ {
		for i := range tokens {
			if k < len(chosen[i]) && len(pairs) < n {
				pairs = append(pairs, followPair{tokens[i], chosen[i][k]})
			}
		}
	}
	return pairs, nil
}

// userList reads up to limit names of an account's followers or following
// (list), 100 a page.
func userList(client *http.Client, base, token, name, list string, limit int) ([]string, error) {
	var out []string
	before := ""
	for len(out) < limit {
		u := base + "/api/v1/users/" + url.PathEscape(name) + "/" + list + "?limit=100"
		if before != "" {
			u += "&before=" + url.QueryEscape(before)
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items []struct {
				Username string `json:"username"`
			} `json:"items"`
			Next *string `json:"next"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s of %s: %s", list, name, res.Status)
		}
		for _, it := range page.Items {
			out = append(out, it.Username)
		}
		if page.Next == nil || len(page.Items) == 0 {
			break
		}
		before = *page.Next
	}
	return out, nil
}
