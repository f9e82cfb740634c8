package web

import (
	"bytes"
	"html/template"
	"strconv"
)

// Feed cards are most of a feed page's rendering time (html/template
// escapes every value it writes), so each card's HTML is cached under the
// key its JSON is cached under (fragmentKey: counters, edit time, the
// viewer's like and ownership, the author's profile version, the hour the
// signed URLs belong to) plus its relative time. The CSRF token of the
// like form differs per browser: the cache holds a marker in its place.
const csrfMarker = "APERTURE-CSRF-MARKER"

// card renders the "post" template for a view, from the cache when it can.
func (s *Server) card(p PostView, csrf string, eager bool) (template.HTML, error) {
	key := ""
	if p.key != "" {
		key = p.key + "|" + ago(p.CreatedAt) + "|" + strconv.FormatBool(eager)
		if b := s.cards.get(key); b != nil {
			return template.HTML(bytes.ReplaceAll(b, []byte(csrfMarker), []byte(csrf))), nil
		}
	}
	var buf bytes.Buffer
	err := s.ui.pages["home"].ExecuteTemplate(&buf, "post", map[string]any{"P": p, "CSRF": csrfMarker, "Eager": eager})
	if err != nil {
		return "", err
	}
	if key != "" {
		s.cards.put(key, bytes.Clone(buf.Bytes()))
	}
	return template.HTML(bytes.ReplaceAll(buf.Bytes(), []byte(csrfMarker), []byte(csrf))), nil
}
