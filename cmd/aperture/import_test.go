package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aperture/transfer/transfertest"
)

// TestImportCommand: "aperture import instagram" brings a download into
// an account with the server stopped, in either layout, HEIC photos and
// carousels included; again, it makes nothing twice; the server then shows
// the posts in the account's grid with their own dates, in order, and in
// no follower's feed; exported and imported elsewhere, they move.
func TestImportCommand(t *testing.T) {
	heic, err := os.ReadFile("../../media/testdata/photo.heic")
	if err != nil {
		t.Fatal(err)
	}
	for _, older := range []bool{false, true} {
		t.Run(map[bool]string{false: "today's layout", true: "the 2022 layout"}[older], func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{"ana", "ben"} {
				if out, code := runBinary(t, []string{"APERTURE_PASSWORD=correct horse battery"}, "user", "create", "--username", name, "--data", dir); code != 0 {
					t.Fatalf("user create: %d %s", code, out)
				}
			}
			// Ben follows ana before her past arrives.
			p := start(t, dir)
			ben := login(t, p, "ben")
			if code, body := call(t, p, "POST", "/api/v1/users/ana/follow", ben, nil); code != 200 {
				t.Fatalf("follow: %d %v", code, body)
			}
			p.stop(t)

			file := filepath.Join(t.TempDir(), "instagram-ana.zip")
			os.WriteFile(file, transfertest.Instagram(transfertest.Options{Posts: 3, Photos: 2, Size: 80, Older: older, HEIC: heic}), 0o644)
			out, code := runBinary(t, nil, "import", "instagram", "--user", "ana", "--data", dir, file)
			if code != 0 || !strings.Contains(out, "imported 3 posts with 6 photos") {
				t.Fatalf("import: %d\n%s", code, out)
			}
			out, code = runBinary(t, nil, "import", "instagram", "--user", "ana", "--data", dir, file)
			if code != 0 || !strings.Contains(out, "imported 0 posts") || !strings.Contains(out, "left out: 3 posts imported before") {
				t.Fatalf("the second import: %d\n%s", code, out)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "imports", "*")); len(left) != 0 {
				t.Fatalf("archives left behind: %v", left)
			}

			p = start(t, dir)
			ana := login(t, p, "ana")
			_, grid := call(t, p, "GET", "/api/v1/users/ana/posts", ana, nil)
			items, _ := grid["items"].([]any)
			if len(items) != 3 {
				t.Fatalf("ana's grid: %v", grid)
			}
			for i, it := range items { // newest first, each on its own day
				post := it.(map[string]any)
				want := transfertest.First.Add(time.Duration(2-i) * 24 * time.Hour).Format(time.RFC3339)
				if post["created_at"] != want || post["caption"] != fmt.Sprintf("Día %d #sunset", 3-i) || len(post["media"].([]any)) != 2 {
					t.Fatalf("post %d of the grid: %v, want dated %s", i, post, want)
				}
			}
			if items[2].(map[string]any)["location"] == nil {
				t.Fatal("the oldest post lost its place")
			}
			_, feed := call(t, p, "GET", "/api/v1/feed", ben, nil)
			if got, _ := feed["items"].([]any); len(got) != 0 {
				t.Fatalf("ben's feed shows ana's past as news: %v", got)
			}
			p.stop(t)

			// Moved to another instance: export here, import there.
			export := filepath.Join(t.TempDir(), "ana.zip")
			if out, code := runBinary(t, nil, "export", "--user", "ana", "--data", dir, "--out", export); code != 0 || !strings.Contains(out, "wrote "+export+" (3 posts") {
				t.Fatalf("export: %d %s", code, out)
			}
			there := t.TempDir()
			runBinary(t, []string{"APERTURE_PASSWORD=correct horse battery"}, "user", "create", "--username", "ana", "--data", there)
			if out, code := runBinary(t, nil, "import", "aperture", "--user", "ana", "--data", there, export); code != 0 || !strings.Contains(out, "imported 3 posts with 6 photos") {
				t.Fatalf("importing the export: %d %s", code, out)
			}
		})
	}
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "instagram-ana.zip")
	os.WriteFile(file, transfertest.Instagram(transfertest.Options{Posts: 1, Photos: 1, Size: 40}), 0o644)
	runBinary(t, []string{"APERTURE_PASSWORD=correct horse battery"}, "user", "create", "--username", "ana", "--data", dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "aperture", "--user", "ana", "--data", dir, file}, "is an instagram archive; run aperture import instagram"},
		{[]string{"import", "instagram", "--user", "nobody", "--data", dir, file}, `no account called "nobody"`},
		{[]string{"import", "instagram", "--user", "ana", "--data", dir, filepath.Join(dir, "no-such.zip")}, "no such file"},
		{[]string{"import", "flickr"}, "usage: aperture import instagram|aperture"},
	} {
		if out, code := runBinary(t, nil, tc.args...); code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: %d %q, want it to say %q", tc.args, code, out, tc.want)
		}
	}
}

// login signs an account in over the API and returns its access token.
func login(t *testing.T, p *proc, name string) string {
	t.Helper()
	code, body := call(t, p, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "correct horse battery"})
	token, _ := body["access_token"].(string)
	if code != 200 || token == "" {
		t.Fatalf("log in %s: %d %v", name, code, body)
	}
	return token
}

// TestImportSurvivesKill: the server is killed (-9) during an import; once
// restarted it finishes the import, and every post is there once.
func TestImportSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	_, signup := call(t, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": "ana", "password": "correct horse battery"})
	token := signup["access_token"].(string)
	const posts = 40
	archive := transfertest.Instagram(transfertest.Options{Posts: posts, Photos: 1, Size: 1200})
	_, up := call(t, p, "POST", "/api/v1/me/imports/uploads", token, map[string]any{"size": len(archive)})
	id, _ := up["id"].(string)
	req, _ := http.NewRequest("PUT", fmt.Sprintf("http://%s/api/v1/me/imports/uploads/%s?offset=0", p.addr, id), bytes.NewReader(archive))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("the upload: %v %v", res, err)
	}
	if code, body := call(t, p, "POST", "/api/v1/me/imports/uploads/"+id+"/finish", token, nil); code != http.StatusAccepted {
		t.Fatalf("finish: %d %v", code, body)
	}
	progress := func(p *proc) map[string]any {
		_, list := call(t, p, "GET", "/api/v1/me/imports", token, nil)
		items, _ := list["items"].([]any)
		if len(items) == 0 {
			return map[string]any{}
		}
		return items[0].(map[string]any)
	}
	deadline := time.Now().Add(60 * time.Second)
	for done, _ := progress(p)["done"].(float64); done < 10; done, _ = progress(p)["done"].(float64) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %v", progress(p))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if progress(p)["state"] == "done" {
		t.Fatal("the import finished before it could be interrupted; make it longer")
	}
	p.cmd.Process.Kill()
	p.done <- <-p.done // the cleanup waits for it too

	p = start(t, dir)
	for progress(p)["state"] != "done" {
		if time.Now().After(deadline.Add(60 * time.Second)) {
			t.Fatalf("the import did not finish after the restart: %v", progress(p))
		}
		time.Sleep(50 * time.Millisecond)
	}
	run := progress(p)
	_, me := call(t, p, "GET", "/api/v1/me", token, nil)
	counts, _ := me["counts"].(map[string]any)
	if run["posts"] != float64(posts) || counts["posts"] != float64(posts) {
		t.Fatalf("after the kill: the run says %v posts, the account has %v; want %d", run["posts"], counts["posts"], posts)
	}
	p.stop(t)
}
