package web

import (
	"bytes"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"aperture/store"
)

// A page written from its items' cached encodings is byte for byte what
// the encoder writes for the same views.
func TestPreEncodedListMatchesEncoder(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	views := []PostView{
		{ID: 7, Author: AuthorView{ID: 1, Username: "ana"}, Caption: "a \"quoted\" <b>caption</b> ✓", Tags: []string{"x"},
			Mentions: []string{}, Media: []MediaView{}, LikeCount: 3, LikedByMe: true, CreatedAt: at},
		{ID: 5, Author: AuthorView{ID: 2, Username: "bo"}, Tags: []string{}, Mentions: []string{"ana"}, Media: []MediaView{},
			Location: &LocationView{Name: "Lisboa", Lat: 38.7, Lon: -9.1}, CreatedAt: at},
	}
	next := store.ID(5).String()
	for _, list := range []List[PostView]{{Items: views, Next: &next}, {Items: views}, {Items: []PostView{}}} {
		var want bytes.Buffer
		if err := fastJSON.Marshal(&want, list); err != nil {
			t.Fatal(err)
		}
		cached := List[PostView]{Next: list.Next, Items: []PostView{}}
		for _, v := range list.Items {
			raw, err := v.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			cached.Items = append(cached.Items, PostView{ID: v.ID, raw: raw})
		}
		var got bytes.Buffer
		done, err := writePreEncoded(&got, cached)
		if !done || err != nil {
			t.Fatalf("writePreEncoded = %v, %v; want it to write the page", done, err)
		}
		if got.String() != want.String() {
			t.Fatalf("pre-encoded page differs from the encoder's:\n got %s\nwant %s", got.String(), want.String())
		}
		if !gojson.Valid(got.Bytes()) {
			t.Fatalf("pre-encoded page is not valid JSON: %s", got.String())
		}
	}
}

// A page with an item that holds no encoding (or a cursor that would need
// escaping) is left to the encoder, and nothing is written.
func TestPreEncodedFallsBack(t *testing.T) {
	odd := "a\"b"
	for _, list := range []List[PostView]{
		{Items: []PostView{{ID: 1, raw: []byte(`{"id":"1"}`)}, {ID: 2}}},
		{Items: []PostView{{ID: 1, raw: []byte(`{"id":"1"}`)}}, Next: &odd},
		{},
	} {
		var buf bytes.Buffer
		if done, _ := writePreEncoded(&buf, list); done || buf.Len() > 0 {
			t.Fatalf("writePreEncoded wrote %q for a page it cannot write", buf.String())
		}
	}
	var buf bytes.Buffer
	if done, _ := writePreEncoded(&buf, List[AuthorView]{Items: []AuthorView{{ID: 1}}}); done {
		t.Fatal("a list of items with no cached encoding was written raw")
	}
}
