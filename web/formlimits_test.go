package web_test

import (
	"bytes"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"aperture/web"
)

var formError = regexp.MustCompile(`<p class="err" role="alert" data-error>([^<]+)</p>`)

// refusal returns the sentence a form answered with: the error shown on
// the page it rendered again, or the flash message it redirected with.
func (v *visitor) refusal(t *testing.T, r resp) string {
	t.Helper()
	if m := formError.FindSubmatch(r.body); m != nil && r.status >= 400 {
		return html.UnescapeString(string(m[1]))
	}
	if f, ok := v.cookies["ap_flash"]; ok && r.status == http.StatusSeeOther {
		delete(v.cookies, "ap_flash")
		msg, _ := url.QueryUnescape(f)
		return msg
	}
	t.Fatalf("the form was not refused: %d %.300s", r.status, r.body)
	return ""
}

// postMultipart submits a multipart form with one photo, like /new.
func (v *visitor) postMultipart(t *testing.T, path string, fields map[string]string) resp {
	t.Helper()
	return v.postPhoto(t, path, photo(t, false), fields)
}

// postPhoto submits a multipart form with the photo given.
func (v *visitor) postPhoto(t *testing.T, path string, file []byte, fields map[string]string) resp {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("file", "photo.jpg")
	fw.Write(file)
	w.WriteField("csrf", v.csrf)
	for k, val := range fields {
		w.WriteField(k, val)
	}
	w.Close()
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return v.send(req)
}

func loginsRefused(t *testing.T, ts *testServer) string {
	t.Helper()
	for _, line := range strings.Split(string(ts.do("GET", "/metrics", "", nil).body), "\n") {
		if strings.HasPrefix(line, `aperture_logins_total{result="refused"}`) {
			return line
		}
	}
	return "none"
}

// TestFormsKeepTheAPILimits sends a value over each limit the API
// declares to the API and to the form that runs the same operation: both
// refuse it with the same sentence, and nothing changes.
func TestFormsKeepTheAPILimits(t *testing.T) {
	ts := newServer(t, web.Config{AuthPerIP: 1 << 20, AuthPerUser: 1 << 20})
	admin := ts.admin("chief")
	tok, _ := ts.signup("member")
	p := ts.share(tok, "the post")
	pid := p.ID.String()
	web1, adminWeb := ts.visitor(), ts.visitor()
	web1.get("/login")
	if r := web1.post("/login", url.Values{"username": {"member"}, "password": {"correct horse"}}, false); r.status != http.StatusSeeOther {
		t.Fatalf("log-in form: %d", r.status)
	}
	adminWeb.get("/login")
	if r := adminWeb.post("/login", url.Values{"username": {"chief"}, "password": {"correct horse"}}, false); r.status != http.StatusSeeOther {
		t.Fatalf("admin log-in form: %d", r.status)
	}
	web1.get("/")
	adminWeb.get("/")
	long := func(n int) string { return strings.Repeat("a", n) }
	longRunes := func(n int) string { return strings.Repeat("é", n) }
	type call struct {
		method, path string
		body         any
	}
	cases := []struct {
		name      string
		api       call
		apiToken  string
		form      string
		values    url.Values
		multipart map[string]string
		anonymous bool // the form is sent signed out
		asAdmin   bool
	}{
		{"sign-up password", call{"POST", "/api/v1/auth/signup", map[string]string{"username": "fresh", "password": long(129)}}, "",
			"/signup", url.Values{"username": {"fresh"}, "password": {long(129)}}, nil, true, false},
		{"sign-up password in runes", call{"POST", "/api/v1/auth/signup", map[string]string{"username": "fresh", "password": longRunes(129)}}, "",
			"/signup", url.Values{"username": {"fresh"}, "password": {longRunes(129)}}, nil, true, false},
		{"sign-up short password", call{"POST", "/api/v1/auth/signup", map[string]string{"username": "fresh", "password": "short"}}, "",
			"/signup", url.Values{"username": {"fresh"}, "password": {"short"}}, nil, true, false},
		{"sign-up username", call{"POST", "/api/v1/auth/signup", map[string]string{"username": long(31), "password": "correct horse"}}, "",
			"/signup", url.Values{"username": {long(31)}, "password": {"correct horse"}}, nil, true, false},
		{"sign-up username characters", call{"POST", "/api/v1/auth/signup", map[string]string{"username": "fresh one", "password": "correct horse"}}, "",
			"/signup", url.Values{"username": {"fresh one"}, "password": {"correct horse"}}, nil, true, false},
		{"sign-up display name", call{"POST", "/api/v1/auth/signup", map[string]string{"username": "fresh", "password": "correct horse", "display_name": long(65)}}, "",
			"/signup", url.Values{"username": {"fresh"}, "password": {"correct horse"}, "display_name": {long(65)}}, nil, true, false},
		{"sign-up invitation code", call{"POST", "/api/v1/auth/signup", map[string]string{"username": "fresh", "password": "correct horse", "invite": long(65)}}, "",
			"/signup", url.Values{"username": {"fresh"}, "password": {"correct horse"}, "invite": {long(65)}}, nil, true, false},
		{"log-in password", call{"POST", "/api/v1/auth/login", map[string]string{"username": "member", "password": long(1025)}}, "",
			"/login", url.Values{"username": {"member"}, "password": {long(1025)}}, nil, true, false},
		{"log-in password of 60,000", call{"POST", "/api/v1/auth/login", map[string]string{"username": "member", "password": long(60000)}}, "",
			"/login", url.Values{"username": {"member"}, "password": {long(60000)}}, nil, true, false},
		{"log-in username", call{"POST", "/api/v1/auth/login", map[string]string{"username": long(65), "password": "correct horse"}}, "",
			"/login", url.Values{"username": {long(65)}, "password": {"correct horse"}}, nil, true, false},
		{"log-in empty password", call{"POST", "/api/v1/auth/login", map[string]string{"username": "member", "password": ""}}, "",
			"/login", url.Values{"username": {"member"}, "password": {""}}, nil, true, false},
		{"profile name", call{"PATCH", "/api/v1/me", map[string]string{"display_name": long(65)}}, tok,
			"/accounts/edit", url.Values{"display_name": {long(65)}}, nil, false, false},
		{"profile bio", call{"PATCH", "/api/v1/me", map[string]string{"bio": long(601)}}, tok,
			"/accounts/edit", url.Values{"bio": {long(601)}}, nil, false, false},
		{"profile website", call{"PATCH", "/api/v1/me", map[string]string{"website": "https://" + long(200) + ".org"}}, tok,
			"/accounts/edit", url.Values{"website": {"https://" + long(200) + ".org"}}, nil, false, false},
		{"profile email", call{"PATCH", "/api/v1/me", map[string]string{"email": long(250) + "@x.org"}}, tok,
			"/accounts/edit", url.Values{"email": {long(250) + "@x.org"}}, nil, false, false},
		{"comment", call{"POST", "/api/v1/posts/" + pid + "/comments", map[string]string{"text": long(20001)}}, tok,
			"/p/" + pid + "/comments", url.Values{"text": {long(20001)}}, nil, false, false},
		{"empty comment", call{"POST", "/api/v1/posts/" + pid + "/comments", map[string]string{"text": ""}}, tok,
			"/p/" + pid + "/comments", url.Values{"text": {""}}, nil, false, false},
		{"report reason", call{"POST", "/api/v1/reports", map[string]string{"post_id": pid, "reason": long(2001)}}, tok,
			"/p/" + pid + "/report", url.Values{"reason": {long(2001)}}, nil, false, false},
		{"account report reason", call{"POST", "/api/v1/reports", map[string]string{"username": "chief", "reason": long(2001)}}, tok,
			"/u/chief/report", url.Values{"reason": {long(2001)}}, nil, false, false},
		{"post caption", call{"POST", "/api/v1/posts", map[string]any{"caption": long(20001), "media_ids": []string{"1"}}}, tok,
			"/new", nil, map[string]string{"caption": long(20001)}, false, false},
		{"photo alt text", call{"POST", "/api/v1/media", nil}, tok,
			"/new", nil, map[string]string{"alt": long(6001)}, false, false},
		{"username in a path", call{"POST", "/api/v1/users/" + long(65) + "/follow", nil}, tok,
			"/u/" + long(65) + "/follow", url.Values{}, nil, false, false},
		{"post ID in a path", call{"POST", "/api/v1/posts/" + strings.Repeat("1", 21) + "/like", nil}, tok,
			"/p/" + strings.Repeat("1", 21) + "/like", url.Values{}, nil, false, false},
		{"comment ID in a path", call{"DELETE", "/api/v1/comments/" + strings.Repeat("1", 21), nil}, tok,
			"/c/" + strings.Repeat("1", 21) + "/delete", url.Values{}, nil, false, false},
		{"request ID in a path", call{"POST", "/api/v1/me/follow-requests/" + strings.Repeat("1", 21) + "/approve", nil}, tok,
			"/requests/" + strings.Repeat("1", 21) + "/approve", url.Values{}, nil, false, false},
		{"upload limit setting", call{"PUT", "/api/v1/admin/settings", map[string]any{"registration": "open", "max_upload_mb": 2000}}, admin,
			"/admin/settings", url.Values{"registration": {"open"}, "max_upload_mb": {"2000"}}, nil, false, true},
		{"registration setting", call{"PUT", "/api/v1/admin/settings", map[string]any{"registration": "sometimes", "max_upload_mb": 0}}, admin,
			"/admin/settings", url.Values{"registration": {"sometimes"}, "max_upload_mb": {"0"}}, nil, false, true},
		{"suspended username in a path", call{"POST", "/api/v1/admin/users/" + long(65) + "/suspend", nil}, admin,
			"/admin/users/" + long(65) + "/suspend", url.Values{}, nil, false, true},
		{"job ID in a path", call{"POST", "/api/v1/admin/jobs/" + strings.Repeat("1", 21) + "/retry", nil}, admin,
			"/admin/jobs/" + strings.Repeat("1", 21) + "/retry", url.Values{}, nil, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var api resp
			if tc.api.path == "/api/v1/media" {
				api = ts.upload(tc.apiToken, photo(t, false), tc.multipart)
			} else {
				api = ts.do(tc.api.method, tc.api.path, tc.apiToken, tc.api.body)
			}
			m := wantProblem(t, api, http.StatusUnprocessableEntity)
			v := web1
			switch {
			case tc.anonymous:
				v = ts.visitor()
				v.get(tc.form)
			case tc.asAdmin:
				v = adminWeb
			}
			var r resp
			if tc.multipart != nil {
				r = v.postMultipart(t, tc.form, tc.multipart)
			} else {
				r = v.post(tc.form, tc.values, false)
			}
			if got := v.refusal(t, r); got != m["detail"] {
				t.Fatalf("the form says %q,\nthe API %q", got, m["detail"])
			}
			if r.status != http.StatusSeeOther && r.status != api.status {
				t.Fatalf("the form answered %d, the API %d", r.status, api.status)
			}
		})
	}
	// Nothing that was refused was kept.
	if r := ts.do("GET", "/api/v1/users/fresh", "", nil); r.status != 404 {
		t.Fatalf("a refused sign-up made an account: %d", r.status)
	}
	if me := ts.do("GET", "/api/v1/me", tok, nil).json(t); me["display_name"] != "" || me["bio"] != "" {
		t.Fatalf("a refused profile was saved: %v", me)
	}
	if r := ts.do("GET", "/api/v1/posts/"+pid+"/comments", tok, nil); strings.Contains(string(r.body), `"text"`) {
		t.Fatalf("a refused comment was kept: %s", r.body)
	}
}

// TestOverlongPasswordIsNeverChecked: a log-in with a password no account
// can have is refused before any account is looked up or any hash
// computed, through the form (up to the body limit) and the API alike.
func TestOverlongPasswordIsNeverChecked(t *testing.T) {
	ts := newServer(t, web.Config{AuthPerIP: 1 << 20, AuthPerUser: 1 << 20})
	ts.signup("target")
	before := loginsRefused(t, ts)
	for _, n := range []int{1025, 4096, 64 << 10, 1 << 20, 20 << 20} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			v := ts.visitor()
			v.get("/login")
			r := v.post("/login", url.Values{"username": {"target"}, "password": {strings.Repeat("x", n)}}, false)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(v.refusal(t, r), "password") {
				t.Fatalf("form: %d", r.status)
			}
			if n <= 60000 {
				wantProblem(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "target", "password": strings.Repeat("x", n)}), 422)
			} else {
				wantProblem(t, ts.do("POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"username":"target","password":%q}`, strings.Repeat("x", n))), 413)
			}
		})
	}
	if after := loginsRefused(t, ts); after != before {
		t.Fatalf("a password was checked: %s, then %s", before, after)
	}
	// A wrong password of a possible length is checked (and counted).
	v := ts.visitor()
	v.get("/login")
	v.post("/login", url.Values{"username": {"target"}, "password": {"wrong password"}}, false)
	if after := loginsRefused(t, ts); after == before {
		t.Fatalf("the count of refused log-ins did not move: %s", after)
	}
}
