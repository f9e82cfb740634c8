package transfer

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Account is what an archive holds, whichever service made it: the
// profile, the posts (oldest first) and whom the account followed.
type Account struct {
	Source    string   `json:"source"` // store.SourceInstagram or store.SourceAperture
	Username  string   `json:"username"`
	Name      string   `json:"name,omitempty"`
	Bio       string   `json:"bio,omitempty"`
	Website   string   `json:"website,omitempty"`
	Picture   string   `json:"picture,omitempty"` // a path in the archive
	Posts     []Post   `json:"posts"`
	Following []string `json:"following,omitempty"` // usernames
}

// Post is one post of an archive.
type Post struct {
	Key      string    `json:"key"` // what identifies it in its source, for idempotent imports
	TakenAt  time.Time `json:"taken_at"`
	Caption  string    `json:"caption,omitempty"`
	Tags     []string  `json:"tags,omitempty"` // the caption's hashtags
	Photos   []Photo   `json:"photos"`
	Videos   int       `json:"videos,omitempty"` // videos in it, which aperture does not import
	Location *Place    `json:"location,omitempty"`
}

// Photo is a photo of a post: its path in the archive and its alt text.
type Photo struct {
	Path string `json:"path"`
	Alt  string `json:"alt,omitempty"`
}

// Place is where a post was made; an Instagram download often knows only
// the point, with no name.
type Place struct {
	Name string  `json:"name,omitempty"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// Parse reads an archive's account: an aperture export when it has
// aperture.json, else an Instagram download in JSON format. It returns an
// ErrArchive error that names the files it looked for when it is neither.
func Parse(a *Archive) (*Account, error) {
	if a.Has(apertureIndex) {
		return parseAperture(a)
	}
	return parseInstagram(a)
}

// decodeJSON decodes an archive's JSON file into v, naming the file when
// it is not JSON of the expected shape.
func decodeJSON(a *Archive, name string, v any) error {
	b, err := a.Read(name, MaxJSON)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return refuse("The file %q in the archive is not the JSON aperture expects (%s).", name, jsonProblem(err))
	}
	return nil
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := map[reflect.Kind]string{reflect.Slice: "a list", reflect.Struct: "an object", reflect.Map: "an object", reflect.String: "text",
			reflect.Int64: "a number", reflect.Float64: "a number", reflect.Pointer: "a number", reflect.Int: "a number"}[te.Type.Kind()]
		if want == "" {
			want = "something else"
		}
		where := ""
		if te.Field != "" {
			where = " at " + te.Field
		}
		return "it has " + article(te.Value) + " where " + want + " was expected" + where
	case errors.As(err, &se):
		return "it is not valid JSON"
	}
	return "it could not be decoded"
}

func article(v string) string {
	if strings.ContainsAny(v[:1], "aeiou") {
		return "an " + v
	}
	return "a " + v
}

// fixText undoes Instagram's double encoding, which writes each UTF-8
// byte of a text as its own \u00XX escape ("cafÃ©" for "café"). Text that
// is not of that form is returned as it is.
func fixText(s string) string {
	b := make([]byte, 0, len(s))
	wide := false
	for _, r := range s {
		if r > 0xFF {
			return s
		}
		wide = wide || r >= 0x80
		b = append(b, byte(r))
	}
	if !wide || !utf8.Valid(b) {
		return s
	}
	return string(b)
}

// sortPosts orders posts oldest first (by key when two share a time), so
// that an import's progress is a position in a fixed list.
func sortPosts(posts []Post) {
	slices.SortStableFunc(posts, func(x, y Post) int {
		if c := x.TakenAt.Compare(y.TakenAt); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
}

// photoExt reports whether a path names a photo aperture can read, and
// videoExt a video it skips.
func photoExt(p string) bool {
	switch strings.ToLower(extOf(p)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".avif":
		return true
	}
	return false
}

func videoExt(p string) bool {
	switch strings.ToLower(extOf(p)) {
	case ".mp4", ".mov", ".m4v", ".webm", ".3gp":
		return true
	}
	return false
}

func extOf(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 && !strings.Contains(p[i:], "/") {
		return p[i:]
	}
	return ""
}
