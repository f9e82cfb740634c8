package web

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

var anchorTag = regexp.MustCompile(`<a href="[^"<>]*"( rel="nofollow noopener ugc" target="_blank")?>|</a>`)

// FuzzRichText: whatever people write, the only markup in the output is
// our own links, and the text reads back exactly as written.
func FuzzRichText(f *testing.F) {
	for _, s := range []string{"#sunset with @ben", "<script>alert(1)</script>", `<img src=x onerror=alert(1)>`,
		"see https://example.org/a?b=1&c=<2>.", "#", "@", "a#b c@d", "#über_café @a.b. http://x", "\"'&<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		out := string(richText(text))
		bare := anchorTag.ReplaceAllString(out, "")
		if strings.ContainsAny(bare, "<>") {
			t.Fatalf("markup leaked: %q → %q", text, out)
		}
		// html/template writes NUL as U+FFFD.
		if want := strings.ReplaceAll(text, "\x00", "\uFFFD"); strings.ToValidUTF8(text, "\uFFFD") == text && html.UnescapeString(bare) != want {
			t.Fatalf("text changed: %q → %q", text, html.UnescapeString(bare))
		}
	})
}

func TestRichTextLinks(t *testing.T) {
	got := string(richText("Hi @Ben_1. #Sunset, see https://x.org/p?q=1. #"))
	want := `Hi <a href="/u/ben_1">@Ben_1</a>. <a href="/tags/sunset">#Sunset</a>, see ` +
		`<a href="https://x.org/p?q=1" rel="nofollow noopener ugc" target="_blank">https://x.org/p?q=1</a>. #`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
