package web

import (
	"bytes"
	"html/template"
	"strings"
)

// Feed cards are most of a feed page's rendering time (html/template
// escapes every value it writes), so each card's HTML is cached under the
// key its JSON is cached under (fragmentKey: counters, edit time, the
// viewer's like and ownership, the author's profile version, the hour the
// signed URLs belong to) plus its relative time. The CSRF token of the
// like form differs per browser, so the cache keeps the card without it
// and the offsets where the template wrote it; each page splices its
// token in at those offsets and nowhere else, so no text of a post can
// make the token appear.

// cardKey is a card's cache key: its post's fragKey, the relative time
// it shows and whether its image loads eagerly.
type cardKey struct {
	fragKey
	ago   string
	eager bool
}

// cardHTML is a card as cached: its HTML without the CSRF token, and the
// offsets in it where the template wrote the token.
type cardHTML struct {
	html  []byte
	slots []int
}

// csrfSlot stands in for the CSRF token while a card renders. The
// template prints it where the token goes; html/template calls its String
// method at that moment, which records how far the output has got and
// prints nothing.
type csrfSlot struct {
	out *bytes.Buffer
	at  []int
}

// String records the offset of the token's place and returns "".
func (s *csrfSlot) String() string {
	s.at = append(s.at, s.out.Len())
	return ""
}

// with returns the card with token written at each of its slots.
func (c *cardHTML) with(token string) template.HTML {
	var b strings.Builder
	b.Grow(len(c.html) + len(c.slots)*len(token))
	last := 0
	for _, at := range c.slots {
		b.Write(c.html[last:at])
		b.WriteString(token)
		last = at
	}
	b.Write(c.html[last:])
	return template.HTML(b.String())
}

// card renders the "post" template for a view, from the cache when it can.
func (s *Server) card(p PostView, csrf string, eager bool) (template.HTML, error) {
	var key cardKey
	cached := p.key != fragKey{}
	if cached {
		key = cardKey{p.key, ago(p.CreatedAt), eager}
		if c := s.cards.get(key); c != nil {
			return c.with(csrf), nil
		}
	}
	var buf bytes.Buffer
	slot := &csrfSlot{out: &buf}
	if err := s.ui.pages["home"].ExecuteTemplate(&buf, "post", map[string]any{"P": p, "CSRF": slot, "Eager": eager}); err != nil {
		return "", err
	}
	c := &cardHTML{html: buf.Bytes(), slots: slot.at}
	if cached {
		s.cards.put(key, c)
	}
	return c.with(csrf), nil
}
