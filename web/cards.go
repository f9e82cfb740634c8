package web

import (
	"bytes"
	"html/template"
)

// Feed cards are most of a feed page's rendering time (html/template
// escapes every value it writes), so each card's HTML is cached under the
// key its JSON is cached under (fragmentKey: counters, edit time, the
// viewer's like and ownership, the author's profile version, the hour the
// signed URLs belong to) plus its relative time. The CSRF token of the
// like form differs per browser: the cache holds a marker in its place.
const csrfMarker = "APERTURE-CSRF-MARKER"

// cardKey is a card's cache key: its post's fragKey, the relative time
// it shows and whether its image loads eagerly.
type cardKey struct {
	fragKey
	ago   string
	eager bool
}

// card renders the "post" template for a view, from the cache when it can.
func (s *Server) card(p PostView, csrf string, eager bool) (template.HTML, error) {
	var key cardKey
	cached := p.key != fragKey{}
	if cached {
		key = cardKey{p.key, ago(p.CreatedAt), eager}
		if b := s.cards.get(key); b != nil {
			return template.HTML(bytes.ReplaceAll(b, []byte(csrfMarker), []byte(csrf))), nil
		}
	}
	var buf bytes.Buffer
	err := s.ui.pages["home"].ExecuteTemplate(&buf, "post", map[string]any{"P": p, "CSRF": csrfMarker, "Eager": eager})
	if err != nil {
		return "", err
	}
	if cached {
		s.cards.put(key, bytes.Clone(buf.Bytes()))
	}
	return template.HTML(bytes.ReplaceAll(buf.Bytes(), []byte(csrfMarker), []byte(csrf))), nil
}
