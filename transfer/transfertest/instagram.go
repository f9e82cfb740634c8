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

// Options shape an Instagram download.
type Options struct {
	Posts  int // posts, a day apart from First
	Photos int // photos in each (carousels when more than one)
	Size   int // each photo's width in pixels (height three quarters of it)
	// Older uses the layout of 2022 (content/posts_1.json) instead of
	// today's (your_instagram_activity/content/posts_1.json).
	Older bool
	// HEIC, if set, is the last photo of every carousel, as an iPhone's.
	HEIC      []byte
	Following []string
}

// Instagram returns a download of o's posts, the first at a point in
// Lisbon and the others with no place; captions "Día N #sunset" with their
// UTF-8 written byte by byte as Instagram writes it; and the accounts
// followed.
func Instagram(o Options) []byte {
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
	for i := range o.Posts {
		at := First.Add(time.Duration(i) * 24 * time.Hour)
		var items []any
		for j := range o.Photos {
			uri := fmt.Sprintf("media/posts/%s/%d_%d.jpg", at.Format("200601"), i, j)
			data := media.Synthetic(o.Size, o.Size*3/4, int64(i*100+j))
			if o.HEIC != nil && o.Photos > 1 && j == o.Photos-1 {
				uri, data = strings.TrimSuffix(uri, ".jpg")+".heic", o.HEIC
			}
			put(uri, data)
			item := map[string]any{"uri": uri, "creation_timestamp": at.Unix()}
			if i == 0 && j == 0 {
				item["media_metadata"] = map[string]any{"photo_metadata": map[string]any{"exif_data": []any{map[string]any{"latitude": 38.7223, "longitude": -9.1393}}}}
			}
			items = append(items, item)
		}
		list = append(list, map[string]any{"title": Bytewise(fmt.Sprintf("Día %d #sunset", i+1)), "creation_timestamp": at.Unix(), "media": items})
	}
	b, _ := json.Marshal(list)
	root := "your_instagram_activity/"
	if o.Older {
		root = ""
	}
	put(root+"content/posts_1.json", b)
	var rel []any
	for _, f := range o.Following {
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
