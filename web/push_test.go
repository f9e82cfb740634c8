package web_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"aperture/store"
	"aperture/web"
)

// pushService is a push endpoint on 127.0.0.1 that checks the VAPID
// signature and decrypts each message with the browser's keys (RFC 8291),
// as a real push service and browser would between them.
type pushService struct {
	*httptest.Server
	t      *testing.T
	ua     *ecdh.PrivateKey
	auth   []byte
	mu     sync.Mutex
	got    []string
	status int
}

func newPushService(t *testing.T) *pushService {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	ps := &pushService{t: t, ua: ua, auth: auth, status: http.StatusCreated}
	ps.Server = httptest.NewServer(http.HandlerFunc(ps.handle))
	t.Cleanup(ps.Close)
	return ps
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (ps *pushService) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	plain, err := ps.check(r, body)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err != "" {
		ps.got = append(ps.got, "ERROR: "+err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ps.got = append(ps.got, plain)
	w.WriteHeader(ps.status)
}

// check verifies the VAPID token (ES256 under the k= key, audience this
// origin) and decrypts the aes128gcm body.
func (ps *pushService) check(r *http.Request, body []byte) (string, string) {
	authz := r.Header.Get("Authorization")
	var tok, key string
	for _, part := range strings.Split(strings.TrimPrefix(authz, "vapid "), ",") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "t="); ok {
			tok = v
		}
		if v, ok := strings.CutPrefix(part, "k="); ok {
			key = v
		}
	}
	if key != vapidPublic {
		return "", "the VAPID key is not the server's"
	}
	kb, _ := base64.RawURLEncoding.DecodeString(key)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(kb[1:33]), Y: new(big.Int).SetBytes(kb[33:])}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil }, jwt.WithValidMethods([]string{"ES256"})); err != nil {
		return "", "VAPID token: " + err.Error()
	}
	if claims["aud"] != ps.URL || !strings.HasPrefix(claims["sub"].(string), "mailto:") {
		return "", "VAPID claims: " + ps.URL
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" || len(body) < 86 {
		return "", "not aes128gcm"
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	asPub := body[21 : 21+idlen]
	ct := body[21+idlen:]
	_ = rs
	peer, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		return "", "bad sender key"
	}
	secret, _ := ps.ua.ECDH(peer)
	mac := func(key []byte, parts ...[]byte) []byte {
		m := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)
	}
	prkKey := mac(ps.auth, secret)
	ikm := mac(prkKey, []byte("WebPush: info\x00"), ps.ua.PublicKey().Bytes(), asPub, []byte{1})
	prk := mac(salt, ikm)
	cek := mac(prk, []byte("Content-Encoding: aes128gcm\x00"), []byte{1})[:16]
	nonce := mac(prk, []byte("Content-Encoding: nonce\x00"), []byte{1})[:12]
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return "", "decryption failed: " + err.Error()
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return "", "bad padding"
	}
	return string(plain[:i]), ""
}

func (ps *pushService) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ps.mu.Lock()
		got := append([]string(nil), ps.got...)
		ps.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebPush: a like is pushed, encrypted for the browser and signed
// with VAPID; preferences stop a type or a muted account; a 410 from the
// push service deletes the subscription.
func TestWebPush(t *testing.T) {
	ts := newServer(t, web.Config{})
	ana, _ := ts.signup("ana")
	ben, _ := ts.signup("ben")
	cy, _ := ts.signup("cy")
	p := ts.share(ana, "push me")
	ps := newPushService(t)
	sub := map[string]any{"endpoint": ps.URL + "/push/abc", "keys": map[string]string{"p256dh": b64(ps.ua.PublicKey().Bytes()), "auth": b64(ps.auth)}}
	if r := ts.do("POST", "/api/v1/push/subscriptions", ana, sub); r.status != 201 {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	if r := ts.do("GET", "/api/v1/push/key", "", nil); !strings.Contains(string(r.body), vapidPublic) {
		t.Fatalf("key: %s", r.body)
	}
	ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/like", ben, nil)
	got := ps.wait(t, 1)
	if len(got) != 1 {
		t.Fatalf("pushes: %v", got)
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(got[0]), &msg); err != nil || msg["body"] != "ben liked your photo." || msg["url"] != "/p/"+p.ID.String() {
		t.Fatalf("push: %q", got[0])
	}

	// Likes off, cy muted: neither is pushed; a comment by ben still is.
	r := ts.do("PUT", "/api/v1/me/preferences", ana, map[string]any{"push": []string{"comment", "follow"}, "muted": []string{"cy"},
		"quiet_from": "", "quiet_to": "", "utc_offset": 0})
	if r.status != 200 {
		t.Fatalf("preferences: %d %s", r.status, r.body)
	}
	ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/like", cy, nil)
	ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/comments", cy, map[string]string{"text": "muted"})
	ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/comments", ben, map[string]string{"text": "hello"})
	got = ps.wait(t, 2)
	time.Sleep(200 * time.Millisecond)
	got = ps.wait(t, 2)
	if len(got) != 2 || !strings.Contains(got[1], "ben commented on your photo.") {
		t.Fatalf("after preferences: %v", got)
	}
	wantProblem(t, ts.do("PUT", "/api/v1/me/preferences", ana, map[string]any{"push": []string{"spam"}, "muted": []string{},
		"quiet_from": "", "quiet_to": "", "utc_offset": 0}), 422)

	// The push service says the subscription is gone: it is deleted.
	ps.mu.Lock()
	ps.status = http.StatusGone
	ps.mu.Unlock()
	ts.do("POST", "/api/v1/users/ana/follow", ben, nil)
	ps.wait(t, 3)
	ts.drain()
	ana0, _ := ts.st.UserByUsername("ana")
	if subs, _ := ts.st.PushSubscriptions(ana0.ID); len(subs) != 0 {
		t.Fatalf("a gone subscription was kept: %d", len(subs))
	}
}

// TestWebPushRefusesPrivateServices: a push subscription whose endpoint
// is, or resolves to, an address that is not public is never called; the
// failure kept on the job (shown on the admin's failed-jobs page) names
// no address.
func TestWebPushRefusesPrivateServices(t *testing.T) {
	saved := webhookAllow
	webhookAllow = nil
	ts := newServer(t, web.Config{})
	webhookAllow = saved
	ana, _ := ts.signup("ana")
	ben, _ := ts.signup("ben")
	p := ts.share(ana, "push me")
	ps := newPushService(t)
	keys := map[string]string{"p256dh": b64(ps.ua.PublicKey().Bytes()), "auth": b64(ps.auth)}
	endpoints := []string{"https://inside.example/push/a", "https://[::ffff:10.0.0.1]/push/b", "https://[64:ff9b::7f00:1]/push/c", ps.URL + "/push/d"}
	for _, e := range endpoints {
		if r := ts.do("POST", "/api/v1/push/subscriptions", ana, map[string]any{"endpoint": e, "keys": keys}); r.status != 201 {
			t.Fatalf("subscribe %s: %d %s", e, r.status, r.body)
		}
	}
	ts.do("POST", "/api/v1/posts/"+p.ID.String()+"/like", ben, nil)
	leaks := regexp.MustCompile(`(\d{1,3}\.){3}\d{1,3}|([0-9a-fA-F]{0,4}:){2,}|dial tcp|lookup |connect:`)
	deadline := time.Now().Add(5 * time.Second)
	var failed []string
	for time.Now().Before(deadline) {
		failed = failed[:0]
		var jobs []*store.Job
		for part := range ts.st.Partitions() {
			due, err := ts.st.DueJobs(part, time.Now().Add(24*time.Hour), 100, nil)
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, due...)
		}
		for _, j := range jobs {
			if j.Kind == store.JobPush && j.LastError != "" {
				failed = append(failed, j.LastError)
			}
		}
		if len(failed) == len(endpoints) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(failed) != len(endpoints) {
		t.Fatalf("failed pushes: %q", failed)
	}
	for _, msg := range failed {
		if !strings.Contains(msg, "not public") {
			t.Errorf("failure %q does not say why", msg)
		}
		if m := leaks.FindString(msg); m != "" {
			t.Errorf("failure %q carries %q", msg, m)
		}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.got) != 0 {
		t.Fatalf("the loopback push service (not allowed here) was called: %v", ps.got)
	}
}
