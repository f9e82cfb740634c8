package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"strings"
	"time"

	"aperture/store"
)

// Instagram's "Download your information" in JSON format. Its layout has
// moved over the years: the posts were in content/posts_1.json and are
// now in your_instagram_activity/content/posts_1.json (posts_2.json and
// on for large accounts), with the photos under media/posts/YYYYMM/.
var instagramRoots = []string{"your_instagram_activity/", ""}

const instagramPosts = "content/posts_%d.json"

type igPost struct {
	Media   []igMedia `json:"media"`
	Title   string    `json:"title"`
	Created int64     `json:"creation_timestamp"`
}

type igMedia struct {
	URI      string `json:"uri"`
	Created  int64  `json:"creation_timestamp"`
	Title    string `json:"title"`
	Metadata struct {
		Photo struct {
			EXIF []struct {
				Latitude  *float64 `json:"latitude"`
				Longitude *float64 `json:"longitude"`
			} `json:"exif_data"`
		} `json:"photo_metadata"`
	} `json:"media_metadata"`
}

func parseInstagram(a *Archive) (*Account, error) {
	root, ok := "", false
	for _, r := range instagramRoots {
		if a.Has(r + fmt.Sprintf(instagramPosts, 1)) {
			root, ok = r, true
			break
		}
	}
	if !ok {
		for _, n := range a.Names() {
			if strings.HasSuffix(n, "posts_1.html") {
				return nil, refuse("This Instagram download is in HTML format; ask Instagram for the JSON format (Accounts Centre → Download your information → Format: JSON) and upload that.")
			}
		}
		return nil, refuse("This is not an Instagram download that aperture knows: it looks for your_instagram_activity/content/posts_1.json or content/posts_1.json (or aperture.json, in an aperture export).")
	}
	acc := &Account{Source: store.SourceInstagram}
	for n := 1; a.Has(root + fmt.Sprintf(instagramPosts, n)); n++ {
		name := root + fmt.Sprintf(instagramPosts, n)
		var posts []igPost
		if err := decodeList(a, name, &posts); err != nil {
			return nil, err
		}
		for i, p := range posts {
			if post, ok := instagramPost(a, p); ok {
				acc.Posts = append(acc.Posts, post)
			} else if len(p.Media) == 0 {
				continue
			} else {
				return nil, refuse("Post %d of %q has no media file aperture can name.", i+1, name)
			}
		}
	}
	sortPosts(acc.Posts)
	instagramProfile(a, root, acc)
	following, err := instagramFollowing(a)
	if err != nil {
		return nil, err
	}
	acc.Following = following
	return acc, nil
}

// decodeList decodes a JSON file that is a list, or (in some versions) an
// object whose one list field holds it.
func decodeList(a *Archive, name string, v any) error {
	b, err := a.Read(name, MaxJSON)
	if err != nil {
		return err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var wrap map[string]json.RawMessage
		if err := json.Unmarshal(t, &wrap); err != nil {
			return refuse("The file %q in the archive is not the JSON aperture expects (%s).", name, jsonProblem(err))
		}
		b = []byte("[]") // an object with no list in it: an empty list
		for _, raw := range wrap {
			if r := bytes.TrimSpace(raw); len(r) > 0 && r[0] == '[' {
				b = raw
				break
			}
		}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return refuse("The file %q in the archive is not the JSON aperture expects (%s).", name, jsonProblem(err))
	}
	return nil
}

// instagramPost turns an archive post into a Post: a single photo's
// caption and time are on the photo, a carousel's on the post.
func instagramPost(a *Archive, p igPost) (Post, bool) {
	if len(p.Media) == 0 || p.Media[0].URI == "" {
		return Post{}, false
	}
	out := Post{Key: p.Media[0].URI, Caption: fixText(p.Title)}
	created := p.Created
	if out.Caption == "" {
		out.Caption = fixText(p.Media[0].Title)
	}
	if created == 0 {
		created = p.Media[0].Created
	}
	out.TakenAt = time.Unix(created, 0).UTC()
	for _, m := range p.Media {
		uri := strings.TrimPrefix(path.Clean("/"+m.URI), "/")
		switch {
		case videoExt(uri):
			out.Videos++
			continue
		case !photoExt(uri):
			continue
		}
		out.Photos = append(out.Photos, Photo{Path: uri})
		for _, e := range m.Metadata.Photo.EXIF {
			if out.Location == nil && e.Latitude != nil && e.Longitude != nil && validPoint(*e.Latitude, *e.Longitude) {
				out.Location = &Place{Lat: *e.Latitude, Lon: *e.Longitude}
			}
		}
	}
	return out, true
}

func validPoint(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && (lat != 0 || lon != 0)
}

type igString struct {
	Value string `json:"value"`
}

// instagramProfile reads the bio, name, website and picture, where the
// archive has them (they are optional: an archive may hold posts only).
func instagramProfile(a *Archive, root string, acc *Account) {
	var info struct {
		Users []struct {
			Strings map[string]igString `json:"string_map_data"`
			Media   map[string]struct {
				URI string `json:"uri"`
			} `json:"media_map_data"`
		} `json:"profile_user"`
	}
	for _, name := range []string{"personal_information/personal_information/personal_information.json", "personal_information/personal_information.json"} {
		if a.Has(name) && decodeJSON(a, name, &info) == nil && len(info.Users) > 0 {
			u := info.Users[0]
			acc.Username = fixText(u.Strings["Username"].Value)
			acc.Name = fixText(u.Strings["Name"].Value)
			acc.Bio = fixText(u.Strings["Bio"].Value)
			acc.Website = fixText(u.Strings["Website"].Value)
			if p := u.Media["Profile Photo"].URI; p != "" && a.Has(p) {
				acc.Picture = p
			}
			break
		}
	}
	if acc.Picture != "" {
		return
	}
	var pics struct {
		Pictures []struct {
			URI     string `json:"uri"`
			Created int64  `json:"creation_timestamp"`
		} `json:"ig_profile_picture"`
	}
	name := root + "content/profile_photos.json"
	if a.Has(name) && decodeJSON(a, name, &pics) == nil {
		var newest int64 = -1
		for _, p := range pics.Pictures {
			if p.Created > newest && a.Has(p.URI) {
				acc.Picture, newest = p.URI, p.Created
			}
		}
	}
}

// instagramFollowing reads whom the account followed: the username is the
// entry's value in older archives and its title in newer ones.
func instagramFollowing(a *Archive) ([]string, error) {
	const name = "connections/followers_and_following/following.json"
	if !a.Has(name) {
		return nil, nil
	}
	var list []struct {
		Title   string `json:"title"`
		Strings []struct {
			Href  string `json:"href"`
			Value string `json:"value"`
		} `json:"string_list_data"`
	}
	if err := decodeList(a, name, &list); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range list {
		u := f.Title
		for _, s := range f.Strings {
			if s.Value != "" {
				u = s.Value
			} else if u == "" && s.Href != "" {
				u = path.Base(strings.TrimRight(s.Href, "/"))
			}
		}
		if u = strings.TrimSpace(fixText(u)); u != "" {
			out = append(out, u)
		}
	}
	return out, nil
}
