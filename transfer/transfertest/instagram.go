// Package transfertest builds archives for the tests of the packages that
// import them.
package transfertest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"aperture/media"
)

// First is when the first post of an Instagram archive was taken; each
// later one a day after the one before.
var First = time.Date(2015, 1, 1, 12, 0, 0, 0, time.UTC)

// Instagram returns a download in Instagram's JSON layout of today: posts
// posts of photos photos each (carousels when more than one) of size×size
// pixels, the first at a point in Lisbon; captions "Día N #sunset", with
// their UTF-8 written byte by byte as Instagram writes it; and the
// accounts followed.
func Instagram(posts, photos, size int, following ...string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	put := func(name string, b []byte) {
		fw, err := w.Create(name)
		if err != nil {
			panic(err)
		}
		fw.Write(b)
	}
	var list []any
	for i := range posts {
		at := First.Add(time.Duration(i) * 24 * time.Hour)
		var items []any
		for j := range photos {
			uri := fmt.Sprintf("media/posts/%s/%d_%d.jpg", at.Format("200601"), i, j)
			put(uri, media.Synthetic(size, size*3/4, int64(i*100+j)))
			item := map[string]any{"uri": uri, "creation_timestamp": at.Unix()}
			if i == 0 && j == 0 {
				item["media_metadata"] = map[string]any{"photo_metadata": map[string]any{"exif_data": []any{map[string]any{"latitude": 38.7223, "longitude": -9.1393}}}}
			}
			items = append(items, item)
		}
		list = append(list, map[string]any{"title": Bytewise(fmt.Sprintf("Día %d #sunset", i+1)), "creation_timestamp": at.Unix(), "media": items})
	}
	b, _ := json.Marshal(list)
	put("your_instagram_activity/content/posts_1.json", b)
	var rel []any
	for _, f := range following {
		rel = append(rel, map[string]any{"title": f, "string_list_data": []any{map[string]any{"href": "https://www.instagram.com/" + f}}})
	}
	b, _ = json.Marshal(map[string]any{"relationships_following": rel})
	put("connections/followers_and_following/following.json", b)
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Bytewise writes text as Instagram's JSON does: each UTF-8 byte as its
// own character.
func Bytewise(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteRune(rune(c))
	}
	return b.String()
}
