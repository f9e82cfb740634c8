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
// an account with the server stopped; again, it makes nothing twice; the
// server then shows the posts in the account's past.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	if out, code := runBinary(t, []string{"APERTURE_PASSWORD=correct horse battery"}, "user", "create", "--username", "ana", "--data", dir); code != 0 {
		t.Fatalf("user create: %d %s", code, out)
	}
	file := filepath.Join(t.TempDir(), "instagram-ana.zip")
	os.WriteFile(file, transfertest.Instagram(3, 2, 80), 0o644)

	out, code := runBinary(t, nil, "import", "instagram", "--user", "ana", "--data", dir, file)
	if code != 0 || !strings.Contains(out, "imported 3 posts with 6 photos") {
		t.Fatalf("import: %d\n%s", code, out)
	}
	out, code = runBinary(t, nil, "import", "instagram", "--user", "ana", "--data", dir, file)
	if code != 0 || !strings.Contains(out, "imported 0 posts") || !strings.Contains(out, "left out: 3 posts imported before") {
		t.Fatalf("the second import: %d\n%s", code, out)
	}
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
	if left, _ := filepath.Glob(filepath.Join(dir, "imports", "*")); len(left) != 0 {
		t.Fatalf("archives left behind: %v", left)
	}

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

	p := start(t, dir)
	_, login := call(t, p, "POST", "/api/v1/auth/login", "", map[string]string{"username": "ana", "password": "correct horse battery"})
	token, _ := login["access_token"].(string)
	_, grid := call(t, p, "GET", "/api/v1/users/ana/posts", token, nil)
	items, _ := grid["items"].([]any)
	if len(items) != 3 {
		t.Fatalf("ana's grid: %v", grid)
	}
	oldest := items[2].(map[string]any)
	if oldest["created_at"] != transfertest.First.Format(time.RFC3339) || oldest["caption"] != "Día 1 #sunset" || oldest["location"] == nil {
		t.Fatalf("the oldest post: %v", oldest)
	}
	p.stop(t)
}

// TestImportSurvivesKill: the server is killed (-9) during an import; once
// restarted it finishes the import, and every post is there once.
func TestImportSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	_, signup := call(t, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": "ana", "password": "correct horse battery"})
	token := signup["access_token"].(string)
	const posts = 40
	archive := transfertest.Instagram(posts, 1, 1200)
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
