package transfer

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aperture/media"
	"aperture/store"
)

// writeZip writes an archive of the files (in order) to a temporary file.
func writeZip(t testing.TB, files ...file) string {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "archive.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type file struct {
	name string
	data []byte
}

func js(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mojibake encodes text as Instagram's JSON does: each UTF-8 byte as its
// own character.
func mojibake(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteRune(rune(c))
	}
	return b.String()
}

// instagramArchive builds a download in the layout under root ("" for the
// older one, "your_instagram_activity/" for today's), wrapped in a folder
// when wrap is set: a carousel with a video and a HEIC photo, a single
// photo with its caption on the photo, and a post of a video only.
func instagramArchive(t testing.TB, root, wrap string) string {
	heic, err := os.ReadFile("../media/testdata/photo.heic")
	if err != nil {
		t.Fatal(err)
	}
	jpg := media.Synthetic(64, 48, 1)
	posts := []any{
		map[string]any{"title": mojibake("Café com os amigos ☕ #lisboa"), "creation_timestamp": 1433160000, "media": []any{
			map[string]any{"uri": "media/posts/201506/a.jpg", "creation_timestamp": 1433160000, "media_metadata": map[string]any{"photo_metadata": map[string]any{"exif_data": []any{
				map[string]any{"scene_type": 1}, map[string]any{"latitude": 38.7139, "longitude": -9.1334}}}}},
			map[string]any{"uri": "media/posts/201506/b.heic", "creation_timestamp": 1433160000},
			map[string]any{"uri": "media/posts/201506/c.mp4", "creation_timestamp": 1433160000},
		}},
		map[string]any{"media": []any{map[string]any{"uri": "media/posts/201201/d.jpg", "creation_timestamp": 1325419200, "title": "First one"}}},
		map[string]any{"media": []any{map[string]any{"uri": "media/posts/202001/e.mp4", "creation_timestamp": 1580000000, "title": "a clip"}}},
	}
	files := []file{
		{root + "content/posts_1.json", js(t, posts)},
		{"media/posts/201506/a.jpg", jpg}, {"media/posts/201506/b.heic", heic}, {"media/posts/201506/c.mp4", []byte("not really a video")},
		{"media/posts/201201/d.jpg", media.Synthetic(48, 64, 2)}, {"media/posts/202001/e.mp4", []byte("clip")},
		{"media/profile/201201/me.jpg", media.Synthetic(32, 32, 3)},
		{"personal_information/personal_information/personal_information.json", js(t, map[string]any{"profile_user": []any{map[string]any{
			"string_map_data": map[string]any{"Username": map[string]any{"value": "ana.lisboa"}, "Bio": map[string]any{"value": mojibake("Fotógrafa 📷")},
				"Name": map[string]any{"value": "Ana"}},
			"media_map_data": map[string]any{"Profile Photo": map[string]any{"uri": "media/profile/201201/me.jpg"}}}}})},
		{"connections/followers_and_following/following.json", js(t, map[string]any{"relationships_following": []any{
			map[string]any{"title": "", "string_list_data": []any{map[string]any{"href": "https://www.instagram.com/ben", "value": "ben"}}},
			map[string]any{"title": "cara", "string_list_data": []any{map[string]any{"href": "https://www.instagram.com/_u/cara"}}},
		}})},
	}
	if wrap != "" {
		for i := range files {
			files[i].name = wrap + files[i].name
		}
	}
	return writeZip(t, files...)
}

func TestParseInstagramLayouts(t *testing.T) {
	for _, tc := range []struct{ name, root, wrap string }{
		{"today", "your_instagram_activity/", ""}, {"older", "", ""}, {"zipped again", "your_instagram_activity/", "instagram-ana-2026-12-01/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Open(instagramArchive(t, tc.root, tc.wrap))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			acc, err := Parse(a)
			if err != nil {
				t.Fatal(err)
			}
			if acc.Source != store.SourceInstagram || acc.Username != "ana.lisboa" || acc.Bio != "Fotógrafa 📷" || acc.Picture != "media/profile/201201/me.jpg" {
				t.Fatalf("the profile: %+v", acc)
			}
			if strings.Join(acc.Following, ",") != "ben,cara" {
				t.Fatalf("following %q", acc.Following)
			}
			if len(acc.Posts) != 3 {
				t.Fatalf("%d posts", len(acc.Posts))
			}
			first, carousel, clip := acc.Posts[0], acc.Posts[1], acc.Posts[2]
			if first.Caption != "First one" || !first.TakenAt.Equal(time.Date(2012, 1, 1, 12, 0, 0, 0, time.UTC)) || len(first.Photos) != 1 || first.Location != nil {
				t.Fatalf("the oldest post: %+v", first)
			}
			if carousel.Caption != "Café com os amigos ☕ #lisboa" || len(carousel.Photos) != 2 || carousel.Videos != 1 ||
				carousel.Photos[1].Path != "media/posts/201506/b.heic" || carousel.Location == nil || carousel.Location.Lat != 38.7139 {
				t.Fatalf("the carousel: %+v", carousel)
			}
			if len(clip.Photos) != 0 || clip.Videos != 1 {
				t.Fatalf("the video post: %+v", clip)
			}
			if b, err := a.Read(carousel.Photos[0].Path, MaxPhoto); err != nil || len(b) == 0 {
				t.Fatalf("reading a photo: %v", err)
			}
		})
	}
}

// TestArchivesRefusedInWords: every archive aperture cannot read is
// refused with a sentence that says why, before anything is read.
func TestArchivesRefusedInWords(t *testing.T) {
	good := instagramArchive(t, "", "")
	whole, _ := os.ReadFile(good)
	truncated := filepath.Join(t.TempDir(), "cut.zip")
	os.WriteFile(truncated, whole[:len(whole)/2], 0o644)
	bomb := bytes.Repeat([]byte{0}, 50<<20)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"truncated", truncated, "not a complete ZIP"},
		{"not a zip", writeFile(t, []byte("just some text")), "not a complete ZIP"},
		{"zip slip", writeZip(t, file{"content/posts_1.json", []byte("[]")}, file{"../../etc/cron.d/evil", []byte("x")}), "points outside it"},
		{"absolute path", writeZip(t, file{"/etc/passwd", []byte("x")}), "points outside it"},
		{"windows path", writeZip(t, file{`..\evil.jpg`, []byte("x")}), "points outside it"},
		{"zip bomb", writeZip(t, file{"content/posts_1.json", []byte("[]")}, file{"media/posts/200001/bomb.jpg", bomb}), "ZIP bomb"},
		{"html download", writeZip(t, file{"your_instagram_activity/content/posts_1.html", []byte("<html>")}), "HTML format"},
		{"unknown layout", writeZip(t, file{"photos/a.jpg", []byte("x")}), "your_instagram_activity/content/posts_1.json"},
		{"posts not JSON", writeZip(t, file{"content/posts_1.json", []byte("{not json")}), "not the JSON"},
		{"posts of the wrong shape", writeZip(t, file{"content/posts_1.json", []byte(`[{"media": 3}]`)}), "it has a number where a list was expected at media"},
		{"unknown export version", writeZip(t, file{"aperture.json", []byte(`{"format":"aperture-export","version":9}`)}), "version 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Open(tc.path)
			if err == nil {
				_, err = Parse(a)
				a.Close()
			}
			if !errors.Is(err, ErrArchive) || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an archive error saying %q", err, tc.want)
			}
		})
	}
}

func writeFile(t testing.TB, b []byte) string {
	p := filepath.Join(t.TempDir(), "file.zip")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFixText(t *testing.T) {
	for in, want := range map[string]string{
		mojibake("Olá, São Paulo! 🌅"): "Olá, São Paulo! 🌅",
		"plain ascii":                 "plain ascii",
		"already fine: café":          "already fine: café", // é alone is not UTF-8
		"wide: 東京":                    "wide: 東京",
	} {
		if got := fixText(in); got != want {
			t.Errorf("fixText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: whatever bytes arrive as an archive, opening and parsing it
// returns an account or an error, never a panic.
func FuzzParse(f *testing.F) {
	small := writeZip(f, file{"content/posts_1.json", []byte(`[{"title":"x","creation_timestamp":1,"media":[{"uri":"media/posts/1/a.jpg"},{"uri":"media/posts/1/b.mp4"}]}]`)},
		file{"media/posts/1/a.jpg", []byte("\xff\xd8")}, file{"connections/followers_and_following/following.json", []byte(`{"relationships_following":[{"title":"ben"}]}`)})
	for _, p := range []string{small, writeZip(f, file{"aperture.json", []byte(`{"format":"aperture-export","version":1,"account":{"posts":[{"key":"1","photos":[{"path":"x.jpg"}]}]}}`)})} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrArchive) {
				t.Fatalf("an error that is not an archive error: %v", err)
			}
			return
		}
		defer a.Close()
		if acc, err := Parse(a); err == nil {
			for _, post := range acc.Posts {
				for _, ph := range post.Photos {
					a.Read(ph.Path, MaxPhoto)
				}
			}
		}
	})
}

// TestEmptyListsAreLists: an account that followed no one has a following
// file whose list is null; that is an empty list, not a damaged archive.
func TestEmptyListsAreLists(t *testing.T) {
	a, err := Open(writeZip(t, file{"content/posts_1.json", []byte(`{"ig_posts": null}`)},
		file{"connections/followers_and_following/following.json", []byte(`{"relationships_following": null}`)}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	acc, err := Parse(a)
	if err != nil || len(acc.Posts) != 0 || len(acc.Following) != 0 {
		t.Fatalf("%+v %v", acc, err)
	}
}
