package web

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"aperture/media"
	"aperture/store"
)

// uiFuncs are the helpers page templates call.
func (s *Server) uiFuncs() template.FuncMap {
	return template.FuncMap{
		"rich":        richText,
		"ago":         ago,
		"bytes":       byteSize,
		"srcset":      srcset,
		"blurPreview": blurPreview,
		"count":       compactCount,
		"plural":      plural,
		"firstLike":   func() string { return firstLike },
		"placeID":     func(l *LocationView) string { return placeIDOf(l) },
		"lower":       strings.ToLower,
		"isoTime":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"query":       url.QueryEscape,
		"add":         func(a, b int) int { return a + b },
		"sub":         func(a, b int) int { return a - b },
		"dict":        dict,
		"variant":     variant,
		"card":        s.card,
		"svgPath":     svgPath,
		"neg":         func(f float64) float64 { return -f },
		"mul2":        func(f float64) float64 { return 2 * f },
		"add0":        func(a, b float64) float64 { return a + b },
	}
}

// richText escapes text and links its #tags, @mentions and web
// addresses; nothing else in it becomes markup.
func richText(text string) template.HTML {
	var b strings.Builder
	b.Grow(len(text) + 64)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case (r == '#' || r == '@') && (i == 0 || !isWordByte(text[i-1])):
			j := i + size
			for j < len(text) {
				r2, n := utf8.DecodeRuneInString(text[j:])
				if r == '@' && !(r2 < utf8.RuneSelf && (isWordByte(byte(r2)) || r2 == '.')) ||
					r == '#' && !(unicode.IsLetter(r2) || unicode.IsDigit(r2) || r2 == '_') {
					break
				}
				j += n
			}
			word := strings.TrimRight(text[i+size:j], ".")
			if word == "" {
				b.WriteString(template.HTMLEscapeString(string(r)))
				i += size
				continue
			}
			href := "/tags/" + url.PathEscape(strings.ToLower(word))
			if r == '@' {
				href = "/u/" + url.PathEscape(strings.ToLower(word))
			}
			fmt.Fprintf(&b, `<a href="%s">%s</a>`, template.HTMLEscapeString(href), template.HTMLEscapeString(text[i:i+size+len(word)]))
			i += size + len(word)
		case strings.HasPrefix(text[i:], "https://") || strings.HasPrefix(text[i:], "http://"):
			j := i
			for j < len(text) && text[j] > ' ' && text[j] != '<' && text[j] != '"' && text[j] < utf8.RuneSelf {
				j++
			}
			link := strings.TrimRight(text[i:j], ".,;:!?)")
			if u, err := url.Parse(link); err == nil && u.Host != "" {
				fmt.Fprintf(&b, `<a href="%s" rel="nofollow noopener ugc" target="_blank">%s</a>`, template.HTMLEscapeString(link), template.HTMLEscapeString(link))
				i += len(link)
				continue
			}
			b.WriteString(template.HTMLEscapeString(text[i:j]))
			i = j
		default:
			b.WriteString(template.HTMLEscapeString(text[i : i+size]))
			i += size
		}
	}
	return template.HTML(b.String())
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ago says how long ago t was, the way feeds do: "5 MINUTES AGO",
// "3 DAYS AGO", then the date.
func ago(t time.Time) string {
	d := time.Since(t)
	unit := func(n int, word string) string {
		if n == 1 {
			return "1 " + word + " ago"
		}
		return strconv.Itoa(n) + " " + word + "s ago"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return unit(int(d/time.Hour), "hour")
	case d < 7*24*time.Hour:
		return unit(int(d/(24*time.Hour)), "day")
	case t.Year() == time.Now().Year():
		return t.Format("January 2")
	}
	return t.Format("January 2, 2006")
}

// srcset lists a photo's display variants by width.
func srcset(m MediaView) string {
	var parts []string
	for _, name := range []string{"small", "medium", "large"} {
		if v, ok := m.Variants[name]; ok {
			parts = append(parts, v.URL+" "+strconv.Itoa(v.Width)+"w")
		}
	}
	return strings.Join(parts, ", ")
}

// variant returns one rendition of a photo.
func variant(m MediaView, name string) VariantView { return m.Variants[name] }

var blurPreviews sync.Map // blurhash → template.URL

// blurPreview returns a blurhash as a tiny inline PNG, so the blurred
// preview shows before the photo loads, with or without JavaScript.
func blurPreview(hash string) template.URL {
	if v, ok := blurPreviews.Load(hash); ok {
		return v.(template.URL)
	}
	b, err := media.BlurPreview(hash)
	if err != nil {
		return ""
	}
	u := template.URL(dataURLOf("image/png", b))
	blurPreviews.Store(hash, u)
	return u
}

// compactCount writes a count (int or int64) as 999, 1,234, 12.3K, 4.5M.
func compactCount(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	}
	switch {
	case n >= 1_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	case n >= 10_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "K"
	case n >= 1000:
		return strconv.FormatInt(n/1000, 10) + "," + fmt.Sprintf("%03d", n%1000)
	}
	return strconv.FormatInt(n, 10)
}

// firstLike stands in for the like count of a post nobody has liked yet.
const firstLike = "Be the first to like this"

func plural(n any, one, many string) string {
	if fmt.Sprint(n) == "1" {
		return one
	}
	return many
}

func placeIDOf(l *LocationView) string {
	if l == nil {
		return ""
	}
	return store.PlaceID(store.Location{Name: l.Name, Lat: l.Lat, Lon: l.Lon}).String()
}

// dict builds a map for passing several values to a sub-template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// byteSize says how big a file is: "840 KB", "12.3 MB", "1.4 GB".
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
