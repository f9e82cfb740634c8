package web_test

import (
	"fmt"
	"testing"
	"time"

	"aperture/web"
)

// TestVisibilityMatrix asserts every read endpoint for every kind of
// viewer against a public and a private account.
func TestVisibilityMatrix(t *testing.T) {
	for _, private := range []bool{false, true} {
		kind := map[bool]string{false: "public", true: "private"}[private]
		t.Run(kind, func(t *testing.T) {
			ts := newServer(t, web.Config{})
			owner, _ := ts.signup("owner")
			follower, _ := ts.signup("follower")
			pending, _ := ts.signup("pending")
			stranger, _ := ts.signup("stranger")
			blocked, _ := ts.signup("blocked")
			if private {
				ts.do("PATCH", "/api/v1/me", owner, map[string]any{"private": true})
			}
			ts.do("POST", "/api/v1/users/owner/follow", follower, nil)
			ts.do("POST", "/api/v1/users/owner/follow", blocked, nil)
			ts.drain() // each follow reaches the owner's partition through the outbox
			if private {
				reqs := listIDs(t, ts.do("GET", "/api/v1/me/follow-requests", owner, nil))
				if len(reqs) != 2 {
					t.Fatalf("requests %v", reqs)
				}
				fid := ts.do("GET", "/api/v1/users/follower", "", nil).json(t)["id"].(string)
				if r := ts.do("POST", "/api/v1/me/follow-requests/"+fid+"/approve", owner, nil); r.status != 204 {
					t.Fatalf("approve: %d %s", r.status, r.body)
				}
				ts.do("POST", "/api/v1/users/owner/follow", pending, nil)
			}
			p := ts.share(owner, "#matrix light")
			ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/like", follower, nil)
			ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/comments", follower, map[string]string{"text": "nice"})
			if r := ts.do("POST", "/api/v1/users/blocked/block", owner, nil); r.status != 204 {
				t.Fatalf("block: %d", r.status)
			}
			ts.drain()
			ts.explore.Refresh(time.Now())

			viewers := []struct {
				name, token string
				seesPosts   bool // post, grid, likes, comments
				inFeed      bool
			}{
				{"anonymous", "", !private, false},
				{"self", owner, true, true},
				{"follower", follower, true, true},
				{"stranger", stranger, !private, false},
				{"pending", pending, !private, false},
				{"blocked", blocked, false, false},
			}
			id := p.ID.String()
			for _, v := range viewers {
				t.Run(v.name, func(t *testing.T) {
					postStatus := 200
					switch {
					case v.name == "blocked":
						postStatus = 404
					case !v.seesPosts:
						postStatus = 403
					}
					for _, path := range []string{"/api/v1/posts/" + id, "/api/v1/users/owner/posts", "/api/v1/posts/" + id + "/likes", "/api/v1/posts/" + id + "/comments", "/api/v1/users/owner/followers"} {
						if r := ts.do("GET", path, v.token, nil); r.status != postStatus {
							t.Errorf("GET %s: %d, want %d", path, r.status, postStatus)
						}
					}
					profile := 200
					if v.name == "blocked" {
						profile = 404
					}
					if r := ts.do("GET", "/api/v1/users/owner", v.token, nil); r.status != profile {
						t.Errorf("profile: %d, want %d", r.status, profile)
					}
					if v.token != "" {
						if got := contains(listIDs(t, ts.do("GET", "/api/v1/feed", v.token, nil)), id); got != v.inFeed {
							t.Errorf("in feed: %v, want %v", got, v.inFeed)
						}
					}
					if got := contains(listIDs(t, ts.do("GET", "/api/v1/tags/matrix/posts", v.token, nil)), id); got != (postStatus == 200) {
						t.Errorf("on the tag page: %v, want %v", got, postStatus == 200)
					}
					inExplore := !private && v.name != "blocked"
					if got := contains(listIDs(t, ts.do("GET", "/api/v1/explore", v.token, nil)), id); got != inExplore {
						t.Errorf("in explore: %v, want %v", got, inExplore)
					}
					// Photo files: public ones for all but... files are by hash; private need a signature.
					plain := fmt.Sprintf("/media/%s/%s/%s/large.jpg", p.Media[0].Variants["large"].URL[7:9], p.Media[0].Variants["large"].URL[10:12], p.Media[0].Variants["large"].URL[13:77])
					wantFile := 200
					if private && v.name != "self" {
						wantFile = 404
					}
					if r := ts.get(plain, v.token, nil); r.status != wantFile {
						t.Errorf("photo file without signature: %d, want %d", r.status, wantFile)
					}
				})
			}
		})
	}
}
