package web_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"aperture/web"
)

// share uploads a photo and posts it with a caption; it returns the post.
func (ts *testServer) share(token, caption string) web.PostView {
	ts.t.Helper()
	up := ts.upload(token, photo(ts.t, false), map[string]string{"filter": "lark"})
	var m web.MediaView
	if err := json.Unmarshal(up.body, &m); err != nil || up.status != 201 {
		ts.t.Fatalf("upload: %d %s", up.status, up.body)
	}
	r := ts.do("POST", "/api/v1/posts", token, map[string]any{"caption": caption, "media_ids": []string{m.ID.String()},
		"location": map[string]any{"name": "Lisbon", "lat": 38.72, "lon": -9.14}})
	if r.status != 201 {
		ts.t.Fatalf("post: %d %s", r.status, r.body)
	}
	var p web.PostView
	json.Unmarshal(r.body, &p)
	return p
}

func listIDs(t *testing.T, r resp) []string {
	t.Helper()
	var l struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	json.Unmarshal(r.body, &l)
	var ids []string
	for _, it := range l.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

func contains(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// TestCoreLoop is the newcomer's loop through the API: two people sign up,
// one posts a filtered photo, the other follows, sees it in the feed,
// likes and comments, and the author sees it in activity.
func TestCoreLoop(t *testing.T) {
	ts := newServer(t, web.Config{})
	alice, _ := ts.signup("alice")
	bob, _ := ts.signup("bob")
	p := ts.share(alice, "Morning in #Lisbon with @bob")
	if p.Author.Username != "alice" || len(p.Media) != 1 || p.Media[0].Filter != "lark" || p.Tags[0] != "lisbon" ||
		p.Mentions[0] != "bob" || p.Location == nil || p.Location.Name != "Lisbon" {
		t.Fatalf("post %+v", p)
	}
	if r := ts.do("POST", "/api/v1/users/alice/follow", bob, nil); r.status != 200 || r.json(t)["state"] != "following" {
		t.Fatalf("follow: %d %s", r.status, r.body)
	}
	ts.drain()
	feed := ts.do("GET", "/api/v1/feed", bob, nil)
	if ids := listIDs(t, feed); len(ids) != 1 || ids[0] != p.ID.String() {
		t.Fatalf("bob's feed: %s", feed.body)
	}
	if r := ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/like", bob, nil); r.status != 200 || r.json(t)["like_count"].(float64) != 1 {
		t.Fatalf("like: %d %s", r.status, r.body)
	}
	if r := ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/like", bob, nil); r.json(t)["like_count"].(float64) != 1 {
		t.Fatalf("liking twice counted twice: %s", r.body)
	}
	r := ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/comments", bob, map[string]string{"text": "Beautiful light!"})
	if r.status != 201 {
		t.Fatalf("comment: %d %s", r.status, r.body)
	}
	commentID := r.json(t)["id"].(string)
	got := ts.do("GET", "/api/v1/posts/"+p.ID.String(), bob, nil).json(t)
	if got["like_count"].(float64) != 1 || got["comment_count"].(float64) != 1 || got["liked_by_me"] != true {
		t.Fatalf("post after engagement: %v", got)
	}
	ts.drain()
	act := ts.do("GET", "/api/v1/activity", alice, nil)
	var a struct {
		Items  []web.ActivityView `json:"items"`
		Unread int                `json:"unread"`
	}
	json.Unmarshal(act.body, &a)
	types := map[string]bool{}
	for _, it := range a.Items {
		types[it.Type] = true
	}
	if !types["like"] || !types["comment"] || !types["follow"] || a.Unread != 3 {
		t.Fatalf("activity: %s", act.body)
	}
	ts.do("POST", "/api/v1/activity/read", alice, nil)
	json.Unmarshal(ts.do("GET", "/api/v1/activity", alice, nil).body, &a)
	if a.Unread != 0 {
		t.Fatalf("unread after read: %d", a.Unread)
	}
	// Bob was mentioned.
	json.Unmarshal(ts.do("GET", "/api/v1/activity", bob, nil).body, &a)
	if len(a.Items) != 1 || a.Items[0].Type != "mention" {
		t.Fatalf("mention: %+v", a.Items)
	}
	// The tag page, the grid, likes and comments lists.
	if ids := listIDs(t, ts.do("GET", "/api/v1/tags/lisbon/posts", "", nil)); !contains(ids, p.ID.String()) {
		t.Fatal("tag page lacks the post")
	}
	if ids := listIDs(t, ts.do("GET", "/api/v1/users/alice/posts", "", nil)); len(ids) != 1 {
		t.Fatalf("grid %v", ids)
	}
	if ids := listIDs(t, ts.do("GET", "/api/v1/posts/"+p.ID.String()+"/comments", "", nil)); len(ids) != 1 || ids[0] != commentID {
		t.Fatalf("comments %v", ids)
	}
	// Edit and delete.
	if r := ts.do("PATCH", "/api/v1/posts/"+p.ID.String(), alice, map[string]string{"caption": "Now #porto"}); r.status != 200 || r.json(t)["tags"].([]any)[0] != "porto" {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := ts.do("PATCH", "/api/v1/posts/"+p.ID.String(), bob, map[string]string{"caption": "hijack"}); r.status != 403 {
		t.Fatalf("edit by another: %d", r.status)
	}
	if r := ts.do("DELETE", "/api/v1/comments/"+commentID, alice, nil); r.status != 204 {
		t.Fatalf("post author deleting a comment: %d %s", r.status, r.body)
	}
	if r := ts.do("DELETE", "/api/v1/posts/"+p.ID.String(), alice, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	ts.drain()
	if ids := listIDs(t, ts.do("GET", "/api/v1/feed", bob, nil)); len(ids) != 0 {
		t.Fatalf("deleted post in feed: %v", ids)
	}
	if r := ts.do("GET", "/api/v1/users/alice", "", nil); r.json(t)["counts"].(map[string]any)["posts"].(float64) != 0 {
		t.Fatalf("post count after delete: %s", r.body)
	}
	if bad, _ := ts.st.Check(); len(bad) > 0 {
		t.Fatalf("invariants: %v", bad)
	}
}

func TestPostRefusals(t *testing.T) {
	ts := newServer(t, web.Config{})
	alice, _ := ts.signup("poster")
	bob, _ := ts.signup("thief")
	up := ts.upload(alice, photo(t, false), nil)
	var m web.MediaView
	json.Unmarshal(up.body, &m)
	cases := []struct {
		name   string
		token  string
		body   map[string]any
		status int
	}{
		{"someone else's photo", bob, map[string]any{"media_ids": []string{m.ID.String()}}, 403},
		{"no photos", alice, map[string]any{"media_ids": []string{}}, 422},
		{"eleven photos", alice, map[string]any{"media_ids": []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}}, 422},
		{"bad latitude", alice, map[string]any{"media_ids": []string{m.ID.String()}, "location": map[string]any{"name": "X", "lat": 91, "lon": 0}}, 422},
		{"long caption", alice, map[string]any{"media_ids": []string{m.ID.String()}, "caption": string(make([]rune, 2201))}, 422},
		{"thirty-one tags", alice, map[string]any{"media_ids": []string{m.ID.String()}, "caption": manyTags(31)}, 422},
		{"anonymous", "", map[string]any{"media_ids": []string{m.ID.String()}}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, ts.do("POST", "/api/v1/posts", tc.token, tc.body), tc.status)
		})
	}
	// The photo can be posted once.
	if r := ts.do("POST", "/api/v1/posts", alice, map[string]any{"media_ids": []string{m.ID.String()}}); r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	wantProblem(t, ts.do("POST", "/api/v1/posts", alice, map[string]any{"media_ids": []string{m.ID.String()}}), 403)
	wantProblem(t, ts.do("GET", "/api/v1/posts/123", "", nil), 404)
	wantProblem(t, ts.do("GET", "/api/v1/posts/abc", "", nil), 404)
	wantProblem(t, ts.do("POST", "/api/v1/users/poster/follow", alice, nil), 422)
	wantProblem(t, ts.do("GET", "/api/v1/feed?before=xyz", alice, nil), 422)
}

func manyTags(n int) string {
	s := ""
	for i := range n {
		s += fmt.Sprintf("#t%c%d ", 'a'+i%26, i)
	}
	return s
}

// TestPostFragmentsPerViewer: the cached encoding of a post never leaks
// one viewer's like or ownership to another, and follows every change.
func TestPostFragmentsPerViewer(t *testing.T) {
	ts := newServer(t, web.Config{})
	owner, _ := ts.signup("owner")
	a, _ := ts.signup("viewera")
	b, _ := ts.signup("viewerb")
	p := ts.share(owner, "cache me")
	path := "/api/v1/posts/" + p.ID.String()
	get := func(token string) web.PostView {
		var v web.PostView
		json.Unmarshal(ts.do("GET", path, token, nil).body, &v)
		return v
	}
	for range 2 { // twice: the second read comes from the cache
		if v := get(b); v.LikedByMe || v.LikeCount != 0 {
			t.Fatalf("before the like: %+v", v)
		}
	}
	ts.do("POST", path+"/like", a, nil)
	for range 2 {
		if v := get(a); !v.LikedByMe || v.LikeCount != 1 {
			t.Fatalf("liker: liked %v, count %d", v.LikedByMe, v.LikeCount)
		}
		if v := get(b); v.LikedByMe || v.LikeCount != 1 {
			t.Fatalf("other viewer: liked %v, count %d", v.LikedByMe, v.LikeCount)
		}
		if _, ok := get(b).Media[0].Variants["full"]; ok {
			t.Fatal("another viewer got the owner's full copy")
		}
		if _, ok := get(owner).Media[0].Variants["full"]; !ok {
			t.Fatal("the owner lost the full copy")
		}
	}
	ts.do("PATCH", path, owner, map[string]string{"caption": "edited"})
	if v := get(b); v.Caption != "edited" {
		t.Fatalf("stale caption %q", v.Caption)
	}
	ts.do("PATCH", "/api/v1/me", owner, map[string]any{"display_name": "New Name"})
	if v := get(b); v.Author.DisplayName != "New Name" {
		t.Fatalf("stale author %q", v.Author.DisplayName)
	}
}
