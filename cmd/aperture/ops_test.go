package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"math/rand"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"aperture/media"
	"aperture/store"
	"aperture/store/storetest"
)

// load drives concurrent writes against a server and remembers every
// write the server acknowledged (answered 2xx), to check after crashes
// and restores that none of them was lost.
type load struct {
	mu       sync.Mutex
	users    []loadUser
	posts    []store.ID
	likes    [][2]store.ID // user, post
	comments [][2]store.ID // post, comment
	follows  [][2]store.ID // follower, target
	photo    []byte
}

type loadUser struct {
	id    store.ID
	name  string
	token string
}

func newLoad(t *testing.T, p *proc, users int) *load {
	l := &load{photo: media.Synthetic(64, 64, 3)}
	for i := range users {
		name := fmt.Sprintf("writer%d", i)
		code, m := call(t, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": name, "password": "correct horse battery"})
		if code != 201 {
			t.Fatalf("signup: %d %v", code, m)
		}
		id, _ := store.ParseID(m["user"].(map[string]any)["id"].(string))
		l.users = append(l.users, loadUser{id: id, name: name, token: m["access_token"].(string)})
	}
	return l
}

// do sends one request; errors (the server may be dying) are not fatal.
func do(addr, method, path, token string, body any, form bool) (int, map[string]any) {
	var rd *bytes.Buffer
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
		rd = &bytes.Buffer{}
	case []byte:
		rd = &bytes.Buffer{}
		w := multipart.NewWriter(rd)
		fw, _ := w.CreateFormFile("file", "p.jpg")
		fw.Write(b)
		w.Close()
		ctype = w.FormDataContentType()
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewBuffer(j)
	}
	req, _ := http.NewRequest(method, "http://"+addr+path, rd)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// run writes until ctx ends, one goroutine per user.
func (l *load) run(ctx context.Context, addr string) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i, u := range l.users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i) + time.Now().UnixNano()))
			for ctx.Err() == nil {
				l.step(addr, u, rng)
			}
		}()
	}
	return &wg
}

func (l *load) randomPost(rng *rand.Rand) (store.ID, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.posts) == 0 {
		return 0, false
	}
	return l.posts[rng.Intn(len(l.posts))], true
}

func (l *load) step(addr string, u loadUser, rng *rand.Rand) {
	switch r := rng.Intn(10); {
	case r < 3:
		code, m := do(addr, "POST", "/api/v1/media", u.token, l.photo, true)
		if code != 201 {
			return
		}
		code, m = do(addr, "POST", "/api/v1/posts", u.token, map[string]any{"caption": "load #crash", "media_ids": []string{m["id"].(string)}}, false)
		if code == 201 {
			id, _ := store.ParseID(m["id"].(string))
			l.mu.Lock()
			l.posts = append(l.posts, id)
			l.mu.Unlock()
		}
	case r < 6:
		if post, ok := l.randomPost(rng); ok {
			if code, _ := do(addr, "POST", "/api/v1/posts/"+post.String()+"/like", u.token, nil, false); code == 200 {
				l.mu.Lock()
				l.likes = append(l.likes, [2]store.ID{u.id, post})
				l.mu.Unlock()
			}
		}
	case r < 8:
		if post, ok := l.randomPost(rng); ok {
			if code, m := do(addr, "POST", "/api/v1/posts/"+post.String()+"/comments", u.token, map[string]string{"text": "still here"}, false); code == 201 {
				id, _ := store.ParseID(m["id"].(string))
				l.mu.Lock()
				l.comments = append(l.comments, [2]store.ID{post, id})
				l.mu.Unlock()
			}
		}
	default:
		target := l.users[rng.Intn(len(l.users))]
		if target.id == u.id {
			return
		}
		if code, _ := do(addr, "POST", "/api/v1/users/"+target.name+"/follow", u.token, nil, false); code == 200 {
			l.mu.Lock()
			l.follows = append(l.follows, [2]store.ID{u.id, target.id})
			l.mu.Unlock()
		}
	}
}

// verify checks that every acknowledged write (up to the given counts,
// or all when -1) is in the store.
func (l *load) verify(t *testing.T, st *store.Store, posts int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if posts < 0 {
		posts = len(l.posts)
	}
	for _, id := range l.posts[:posts] {
		if _, err := st.ViewPost(0, id); err != nil {
			t.Fatalf("acknowledged post %s is lost: %v", id, err)
		}
	}
	if posts < len(l.posts) {
		return // a backup: only posts acknowledged before it began
	}
	for _, lk := range l.likes {
		page, err := st.Posts(lk[0], []store.ID{lk[1]})
		if err != nil || len(page.Posts) != 1 || !page.Liked[lk[1]] {
			t.Fatalf("acknowledged like %v is lost", lk)
		}
	}
	for _, c := range l.comments {
		page, err := st.Comments(0, c[0], store.Page{Limit: 100, Before: c[1] + 1})
		if err != nil || len(page.Comments) == 0 || page.Comments[0].ID != c[1] {
			t.Fatalf("acknowledged comment %v is lost", c)
		}
	}
	for _, f := range l.follows {
		page, err := st.Following(f[0], f[0], store.Page{Limit: 100})
		found := false
		for _, u := range page.Users {
			found = found || u.ID == f[1]
		}
		if err != nil || !found {
			t.Fatalf("acknowledged follow %v is lost", f)
		}
	}
}

// dataOffset finds where an entry's content starts in a tar stream.
func dataOffset(t *testing.T, b []byte, name string) int {
	t.Helper()
	cr := &countingReader{r: bytes.NewReader(b)}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in the backup: %v", name, err)
		}
		if hdr.Name == name {
			return int(cr.n)
		}
	}
}

type countingReader struct {
	r *bytes.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestCrashKill9UnderLoad kills the server with SIGKILL at random moments
// of a mixed write load, twenty times, restarting it each time: nothing
// acknowledged is lost, the invariants hold and the outbox drains.
func TestCrashKill9UnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("twenty kills and restarts")
	}
	dir := t.TempDir()
	p := start(t, dir)
	l := newLoad(t, p, 4)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := range 20 {
		if i > 0 {
			p = start(t, dir)
		}
		ctx, cancel := context.WithCancel(context.Background())
		wg := l.run(ctx, p.addr)
		time.Sleep(time.Duration(150+rng.Intn(400)) * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.done <- <-p.done
		cancel()
		wg.Wait()
	}
	p = start(t, dir)
	waitOutbox(t, p, 60*time.Second)
	out, err := exec.Command(binary, "check", "--data", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "every invariant holds") {
		t.Fatalf("check after the kills: %v\n%s", err, out)
	}
	p.stop(t)
	st, err := storetest.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l.verify(t, st, -1)
	t.Logf("20 kills: %d posts, %d likes, %d comments, %d follows acknowledged, none lost", len(l.posts), len(l.likes), len(l.comments), len(l.follows))
}

// TestBackupUnderLoad takes a backup while writes run, restores it into a
// new directory and finds every post acknowledged before the backup began;
// a damaged backup is refused with the file that fails.
func TestBackupUnderLoad(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	p := start(t, dir)
	l := newLoad(t, p, 3)
	ctx, cancel := context.WithCancel(context.Background())
	wg := l.run(ctx, p.addr)
	time.Sleep(600 * time.Millisecond)
	l.mu.Lock()
	before := len(l.posts)
	l.mu.Unlock()
	file := filepath.Join(out, "backup.tar")
	res, err := exec.Command(binary, "backup", "--data", dir, "--out", file).CombinedOutput()
	cancel()
	wg.Wait()
	if err != nil || !strings.Contains(string(res), "backed up") {
		t.Fatalf("backup: %v\n%s", err, res)
	}
	if before == 0 {
		t.Fatal("no post was acknowledged before the backup")
	}
	restored := filepath.Join(out, "restored")
	res, err = exec.Command(binary, "restore", file, "--data", restored).CombinedOutput()
	if err != nil || !strings.Contains(string(res), "rebuilt the search index") {
		t.Fatalf("restore: %v\n%s", err, res)
	}
	if res, err := exec.Command(binary, "check", "--data", restored).CombinedOutput(); err != nil {
		t.Fatalf("check of the restored copy: %v\n%s", err, res)
	}
	st, err := storetest.Open(restored, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.verify(t, st, before)
	st.Close()
	// The restored instance serves, photos included.
	p2 := start(t, restored)
	code, m := call(t, p2, "GET", "/api/v1/posts/"+l.posts[0].String(), "", nil)
	if code != 200 {
		t.Fatalf("restored post: %d %v", code, m)
	}
	url := m["media"].([]any)[0].(map[string]any)["variants"].(map[string]any)["small"].(map[string]any)["url"].(string)
	if r, err := http.Get("http://" + p2.addr + url); err != nil || r.StatusCode != 200 {
		t.Fatalf("restored photo: %v %v", r, err)
	}
	p2.stop(t)

	// Refusals: a non-empty target, and a damaged file.
	if res, err := exec.Command(binary, "restore", file, "--data", restored).CombinedOutput(); err == nil || !strings.Contains(string(res), "not empty") {
		t.Fatalf("restore over a non-empty directory: %v\n%s", err, res)
	}
	b, _ := os.ReadFile(file)
	b[dataOffset(t, b, "aperture.db")+300] ^= 0xff
	bad := filepath.Join(out, "bad.tar")
	os.WriteFile(bad, b, 0o600)
	res, err = exec.Command(binary, "restore", bad, "--data", filepath.Join(out, "never")).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "aperture.db fails its checksum") {
		t.Fatalf("damaged backup: %v\n%s", err, res)
	}
	if _, err := os.Stat(filepath.Join(out, "never")); !os.IsNotExist(err) {
		t.Fatal("a damaged backup left a directory behind")
	}
}

// TestTLSWarmAndHealth: with certificate files the server speaks HTTPS
// (and sends HSTS), "aperture health" checks a running server, and
// --warm reads an existing database in and says how long it took.
func TestTLSWarmAndHealth(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)

	p := start(t, filepath.Join(dir, "data"), "--tls-cert", certFile, "--tls-key", keyFile, "--warm")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Get("https://" + p.addr + "/healthz")
	if err != nil || res.StatusCode != 200 || !strings.Contains(res.Header.Get("Strict-Transport-Security"), "max-age") {
		t.Fatalf("https: %v %v", res, err)
	}
	res.Body.Close()
	out, err := exec.Command(binary, "health", "--addr", p.addr, "--tls-cert", certFile).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("health: %v %s", err, out)
	}
	p.stop(t)
	if out, err := exec.Command(binary, "health", "--addr", p.addr, "--tls-cert", certFile).CombinedOutput(); err == nil {
		t.Fatalf("health of a stopped server: %s", out)
	}
	// A new data directory has nothing to warm; the next start reads the
	// database in before opening it (the log is complete once the process
	// has exited).
	if strings.Contains(p.stderr.String(), "warmed the database") {
		t.Fatalf("warmed a database that did not exist yet:\n%s", p.stderr)
	}
	again := start(t, filepath.Join(dir, "data"), "--warm")
	again.stop(t)
	if !strings.Contains(again.stderr.String(), "warmed the database into memory") {
		t.Fatalf("no warm-up line:\n%s", again.stderr)
	}
}
