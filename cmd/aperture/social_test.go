package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"aperture/media"
	"aperture/store"
	"aperture/store/storetest"
)

func TestSeedDemo(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(binary, "seed", "--data", dir, "--users", "20", "--posts", "30").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "30 posts") {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	st, err := storetest.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids, _ := st.UserIDs()
	if len(ids) != 20 {
		t.Fatalf("%d users", len(ids))
	}
	if bad, err := st.Check(); err != nil || len(bad) > 0 {
		t.Fatalf("invariants after seeding: %v %v", err, bad)
	}
	if s, _ := st.OutboxStats(); s.Depth != 0 {
		t.Fatalf("seed left %d jobs", s.Depth)
	}
	total := 0
	for _, id := range ids {
		page, err := st.UserPosts(id, id, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		total += len(page.Posts)
	}
	if total != 30 {
		t.Fatalf("%d posts", total)
	}
	docs, _ := st.CountDocs()
	st.Close()
	out, err = exec.Command(binary, "reindex", "--data", dir).CombinedOutput()
	if want := fmt.Sprintf("indexed %d documents", docs); err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("reindex: %v, want %q in\n%s", err, want, out)
	}
}

// TestCrashDuringFanout kills the server with SIGKILL while it fans a
// post out to 30,000 followers, restarts it, and checks that the fan-out
// completes with every inbox holding the post exactly once.
func TestCrashDuringFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 30,000-follower graph")
	}
	dir := t.TempDir()
	const followers = 30_000
	st, err := storetest.Open(dir, store.Options{NoSync: true, CelebrityAt: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash, _ := argon2id.CreateHash("author password", argon2id.DefaultParams)
	author, err := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: "crashtest", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	err = parallel(followers, func(i int) error {
		u, err := store.Exec(ctx, st, store.CreateUser{Meta: store.At(time.Now()), Username: fmt.Sprintf("follower%d", i), PasswordHash: "x"})
		if err == nil {
			_, err = store.Exec(ctx, st, store.Follow{Meta: store.At(time.Now()), FollowerID: u.ID, TargetID: author.ID})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Let the follow backfill jobs (nothing to backfill) clear the outbox
	// quickly on start by finishing them here.
	st.Close()

	// Small fan-out batches: many transactions, so the kill lands mid-way.
	p := start(t, dir, "--fanout-batch", "20", "--celebrity-followers", "100000")
	code, m := call(t, p, "POST", "/api/v1/auth/login", "", map[string]string{"username": "crashtest", "password": "author password"})
	if code != 200 {
		t.Fatalf("login: %d %v", code, m)
	}
	token := m["access_token"].(string)
	// The follows' backfill jobs (and, on several partitions, their
	// syncs): 60,000 jobs, slow on a busy machine.
	waitOutbox(t, p, 180*time.Second)
	mediaID := uploadPhoto(t, p, token)
	code, m = call(t, p, "POST", "/api/v1/posts", token, map[string]any{"caption": "to all", "media_ids": []string{mediaID}})
	if code != 201 {
		t.Fatalf("post: %d %v", code, m)
	}
	postID, _ := store.ParseID(m["id"].(string))
	time.Sleep(40 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.done <- <-p.done // the cleanup waits on it too

	st, err = storetest.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reached := inboxesWith(t, st, postID)
	st.Close()
	t.Logf("at the crash %d of %d followers had the post", reached, followers)
	if reached == followers {
		t.Log("the fan-out finished before the kill; the restart still checks the outbox is clean")
	}

	p2 := start(t, dir, "--celebrity-followers", "100000")
	waitOutbox(t, p2, 120*time.Second)
	p2.stop(t)
	st, err = storetest.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := inboxesWith(t, st, postID); n != followers {
		t.Fatalf("after restart %d of %d followers have the post", n, followers)
	}
	if bad, err := st.Check(); err != nil || len(bad) > 0 {
		t.Fatalf("invariants (inbox counts catch duplicates): %v %v", err, bad[:min(len(bad), 5)])
	}
}

func inboxesWith(t *testing.T, st *store.Store, post store.ID) int {
	t.Helper()
	ids, err := st.UserIDs()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, id := range ids {
		page, err := st.Feed(id, store.Page{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Posts) == 1 && page.Posts[0].ID == post {
			n++
		}
	}
	return n - 1 // the author's own feed
}

// waitOutbox polls /metrics until the outbox is empty.
func waitOutbox(t *testing.T, p *proc, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + p.addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Contains(string(b), "\naperture_outbox_depth 0\n") {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("outbox did not drain")
}

func uploadPhoto(t *testing.T, p *proc, token string) string {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("file", "p.jpg")
	fw.Write(media.Synthetic(400, 400, 7))
	w.Close()
	req, _ := http.NewRequest("POST", "http://"+p.addr+"/api/v1/media", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	if res.StatusCode != 201 {
		t.Fatalf("upload: %d %v", res.StatusCode, m)
	}
	return m["id"].(string)
}
