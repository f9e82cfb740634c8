package web

import (
	"net/url"
	"strings"
	"testing"
)

// resolvesHome reports whether a browser that follows Location: loc from
// a page of https://aperture.test stays on that origin, reading loc as
// browsers do: tabs and newlines dropped, "\" taken for "/".
func resolvesHome(loc string) bool {
	for i := 0; i < len(loc); i++ {
		if c := loc[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	read := strings.NewReplacer("\t", "", "\r", "", "\n", "", `\`, "/").Replace(loc)
	ref, err := url.Parse(read)
	if err != nil {
		return false
	}
	base, _ := url.Parse("https://aperture.test/a/b?c=d")
	got := base.ResolveReference(ref)
	return got.Scheme == "https" && got.Host == "aperture.test" && got.User == nil && ref.Scheme == "" && ref.Host == ""
}

// hostile are "next" values people tried, or could: each must either be
// refused or come back as a path on this site.
var hostile = []string{
	"//evil.example/x", "///evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
	"/\t/evil.example", "/\r\n/evil.example", "/\n/evil.example", "/%09/evil.example", "/%2F%2Fevil.example",
	"/%2f/evil.example", "/%5C%5Cevil.example", "/%5c/evil.example", "/.//evil.example", "/./%2F/evil.example",
	"/..//evil.example", "/%2e%2e//evil.example", "/%252F%252Fevil.example",
	"/x\r\nSet-Cookie: ap_at=planted", "/x%0d%0aSet-Cookie:%20ap_at=planted", "/x\r\nX-Injected: 1", "/x\nX-Injected: 1",
	"/x\rX-Injected: 1", "/x%0aX-Injected:%201", "/x\x00y", "/x\x7f",
	"/\r\n\r\nHTTP/1.1 200 OK\r\n", "javascript:alert(1)", "/javascript:alert(1)", "JaVaScRiPt:alert(1)",
	"https://evil.example/", "https:evil.example", "http:/evil.example", "data:text/html,<script>alert(1)</script>",
	"//evil.example@aperture.test", "/@evil.example", "/ /evil.example", " /evil.example", "\t//evil.example",
	"/\u2215\u2215evil.example", "/\uff0f\uff0fevil.example", "/\u3000/evil.example", "/\u202e//evil.example",
	"/\ufe68evil.example", "/%E2%88%95%E2%88%95evil.example", "/?next=//evil.example", "/#//evil.example",
	"/p/1?x=\r\n", "/p/1#\x00", "/" + strings.Repeat("a", 5000), "/" + strings.Repeat("%2F", 900) + "evil.example",
	"", "/", "evil.example", ".", "..", "%2F%2Fevil.example",
}

func TestLocalPath(t *testing.T) {
	kept := []struct{ in, want string }{
		{"/", "/"},
		{"/p/123", "/p/123"},
		{"/p/123?x=1&y=2#c45", "/p/123?x=1&y=2#c45"},
		{"/tags/caf%C3%A9", "/tags/caf%C3%A9"},
		{"/tags/café", "/tags/caf%C3%A9"},
		{"/search?q=%23sunset+beach", "/search?q=%23sunset+beach"},
		{"/search?q=café", "/search?q=caf%C3%A9"},
		{"/u/ben/", "/u/ben/"},
		{"/a/./b/../c", "/a/c"},
		{"/a//b", "/a/b"},
		{"/%2F%2Fevil.example", "/evil.example"},
		{"/%09/evil.example", "/%09/evil.example"},
		{"/%5C%5Cevil.example", "/%5C%5Cevil.example"},
		{"/login?next=%2Fp%2F1", "/login?next=%2Fp%2F1"},
	}
	for _, tc := range kept {
		t.Run("kept "+tc.in, func(t *testing.T) {
			if got := localPath(tc.in, "DEF"); got != tc.want {
				t.Fatalf("localPath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	refused := []string{"", "p/1", "//evil.example", "/\\evil.example", "/\t/evil.example", "/x\r\nA: b", "/x\x00",
		"https://evil.example", "javascript:alert(1)", " /p/1", "/" + strings.Repeat("a", maxLocalPath)}
	for _, in := range refused {
		t.Run("refused "+url.PathEscape(in[:min(len(in), 40)]), func(t *testing.T) {
			if got := localPath(in, "DEF"); got != "DEF" {
				t.Fatalf("localPath(%q) = %q, want the default", in, got)
			}
		})
	}
	for _, in := range hostile {
		t.Run("hostile "+url.PathEscape(in[:min(len(in), 40)]), func(t *testing.T) {
			got := localPath(in, "DEF")
			if got != "DEF" && !resolvesHome(got) {
				t.Fatalf("localPath(%q) = %q leaves the site", in, got)
			}
			if strings.Contains(strings.ToLower(got), "set-cookie:") && strings.ContainsAny(got, "\r\n") {
				t.Fatalf("localPath(%q) = %q keeps a header break", in, got)
			}
		})
	}
}

// FuzzLocalPath: whatever "next" a request carries, localPath returns
// the default or a path that browsers resolve to this origin, holding no
// control byte, and that it returns unchanged when given again.
func FuzzLocalPath(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	for _, s := range []string{"/p/1?x=1#c2", "/tags/caf%C3%A9", "/a/../..//b", "/%2e/%2e%2e/%2f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := localPath(p, "")
		if got == "" {
			return
		}
		if !resolvesHome(got) {
			t.Fatalf("localPath(%.200q) = %.200q leaves the site", p, got)
		}
		if again := localPath(got, ""); again != got {
			t.Fatalf("localPath(%.200q) = %.200q, but given that it returns %.200q", p, got, again)
		}
	})
}
