package transfer

import (
	"time"

	"aperture/store"
)

// An aperture export: aperture.json describes the account, photos/ holds
// its photos as they were uploaded (metadata stripped), index.html shows
// the posts offline.
const (
	apertureIndex   = "aperture.json"
	apertureFormat  = "aperture-export"
	apertureVersion = 1
)

// Export is the document at the root of an aperture export.
type Export struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Instance   string    `json:"instance"` // the address of the instance it came from
	ExportedAt time.Time `json:"exported_at"`
	Account    Account   `json:"account"`
	// What the account did on others' posts, and its connections, each
	// with the instance address.
	Comments  []ExportComment `json:"comments"`
	Likes     []ExportLike    `json:"likes"`
	Followers []Handle        `json:"followers"`
	Following []Handle        `json:"following"`
}

// ExportComment is a comment the account wrote.
type ExportComment struct {
	Post      string    `json:"post"` // the post's address
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// ExportLike is a post the account likes.
type ExportLike struct {
	Post    string    `json:"post"`
	LikedAt time.Time `json:"liked_at,omitempty"`
}

// Handle is an account on an instance: username@host, and its address.
type Handle struct {
	Username string `json:"username"`
	Address  string `json:"address"`
}

func parseAperture(a *Archive) (*Account, error) {
	var e Export
	if err := decodeJSON(a, apertureIndex, &e); err != nil {
		return nil, err
	}
	if e.Format != apertureFormat || e.Version < 1 || e.Version > apertureVersion {
		return nil, refuse("The archive's aperture.json is of format %q version %d; this aperture reads %q version 1 to %d.", e.Format, e.Version, apertureFormat, apertureVersion)
	}
	acc := e.Account
	acc.Source = store.SourceAperture
	for i := range acc.Posts {
		// Keys are unique per instance: the same export imported twice is
		// the same posts, and two instances' post IDs never mix.
		acc.Posts[i].Key = e.Instance + "#" + acc.Posts[i].Key
	}
	if acc.Picture != "" && !a.Has(acc.Picture) {
		acc.Picture = ""
	}
	acc.Following = acc.Following[:0]
	for _, h := range e.Following {
		acc.Following = append(acc.Following, h.Username)
	}
	sortPosts(acc.Posts)
	return &acc, nil
}
