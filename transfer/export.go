package transfer

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"aperture/media"
	"aperture/store"
)

// Exporter writes accounts' exports: aperture.json (the account, its
// posts with captions, times, places and tags, the comments it wrote, the
// posts it likes, its followers and those it follows, each with its
// address), photos/ (each photo at full quality) and index.html (the
// posts, readable offline in a browser). An export is made by a JobExport
// job and kept in Dir until it expires.
type Exporter struct {
	Store *store.Store
	Media *media.Processor
	Dir   string
	// Instance is the instance's public address (https://photos.example),
	// which the export's links and handles are made from.
	Instance string
}

// Handle runs one JobExport job.
func (ex *Exporter) Handle(ctx context.Context, j *store.Job) error {
	var job store.ImportJob
	if err := json.Unmarshal(j.Payload, &job); err != nil {
		return fmt.Errorf("export job %s: %w", j.ID, err)
	}
	ex.sweep()
	name, size, err := ex.WriteFile(ctx, job.User)
	done := store.ExportDone{Meta: store.At(time.Now()), UserID: job.User, RunID: job.Run, File: name, Bytes: size}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil // the account is gone
	case err != nil && ctx.Err() == nil:
		done = store.ExportDone{Meta: done.Meta, UserID: job.User, RunID: job.Run, Error: "The export could not be written; ask again later."}
	case err != nil:
		return err
	}
	_, err = store.Exec(ctx, ex.Store, done)
	return err
}

// sweep removes exports past their day.
func (ex *Exporter) sweep() {
	files, _ := filepath.Glob(filepath.Join(ex.Dir, "*.zip"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && time.Since(fi.ModTime()) > store.ExportKept+time.Hour {
			os.Remove(f)
		}
	}
}

// WriteFile writes an account's export into Dir under a fresh name that
// cannot be guessed, and returns the name and its size.
func (ex *Exporter) WriteFile(ctx context.Context, user store.ID) (string, int64, error) {
	if err := os.MkdirAll(ex.Dir, 0o700); err != nil {
		return "", 0, err
	}
	var b [16]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s-%s.zip", user, hex.EncodeToString(b[:]))
	path := filepath.Join(ex.Dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", 0, err
	}
	err = ex.Write(ctx, user, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	return name, fi.Size(), nil
}

// Write writes an account's export to w as a ZIP.
func (ex *Exporter) Write(ctx context.Context, user store.ID, w io.Writer) error {
	u, err := ex.Store.User(user)
	if err != nil {
		return err
	}
	e := Export{Format: apertureFormat, Version: apertureVersion, Instance: ex.Instance, ExportedAt: time.Now().UTC(),
		Account:  Account{Source: store.SourceAperture, Username: u.Username, Name: u.DisplayName, Bio: u.Bio, Website: u.Website, Posts: []Post{}},
		Comments: []ExportComment{}, Likes: []ExportLike{}, Followers: []Handle{}, Following: []Handle{}}
	zw := zip.NewWriter(w)
	photo := func(id store.ID, path string) (string, error) {
		m, err := ex.Store.Media(id)
		if err != nil {
			return "", err
		}
		if err := ex.Media.Full(ctx, m.Hash); err != nil {
			return "", err
		}
		b, err := ex.Media.Blobs().Get(m.Hash, "full.jpg")
		if err != nil {
			return "", err
		}
		// Photos are JPEG already: stored, not compressed again.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Store, Modified: m.CreatedAt})
		if err != nil {
			return "", err
		}
		_, err = fw.Write(b)
		return m.Alt, err
	}
	if u.AvatarMediaID != 0 {
		if _, err := photo(u.AvatarMediaID, "photos/profile.jpg"); err == nil {
			e.Account.Picture = "photos/profile.jpg"
		}
	}
	for page := (store.Page{Limit: 100}); ; {
		pp, err := ex.Store.UserPosts(user, user, page)
		if err != nil {
			return err
		}
		for _, p := range pp.Posts {
			post := Post{Key: p.ID.String(), TakenAt: p.CreatedAt.UTC(), Caption: p.Caption, Tags: p.Tags, Photos: []Photo{}}
			if l := p.Location; l != nil {
				post.Location = &Place{Name: l.Name, Lat: l.Lat, Lon: l.Lon}
			}
			for i, mid := range p.MediaIDs {
				path := fmt.Sprintf("photos/%s-%d.jpg", p.ID, i+1)
				alt, err := photo(mid, path)
				if err != nil {
					return fmt.Errorf("export: photo %s of post %s: %w", mid, p.ID, err)
				}
				post.Photos = append(post.Photos, Photo{Path: path, Alt: alt})
			}
			e.Account.Posts = append(e.Account.Posts, post)
		}
		if pp.Next == 0 || ctx.Err() != nil {
			break
		}
		page.Before = pp.Next
	}
	sortPosts(e.Account.Posts)
	comments, likes, err := ex.Store.WrittenBy(ctx, user)
	if err != nil {
		return err
	}
	for _, c := range comments {
		e.Comments = append(e.Comments, ExportComment{Post: ex.Instance + "/p/" + c.PostID.String(), Text: c.Text, CreatedAt: c.CreatedAt.UTC()})
	}
	for _, l := range likes {
		e.Likes = append(e.Likes, ExportLike{Post: ex.Instance + "/p/" + l.PostID.String(), LikedAt: l.At})
	}
	for _, list := range []struct {
		get  func(viewer, u store.ID, p store.Page) (store.UserPage, error)
		into *[]Handle
	}{{ex.Store.Followers, &e.Followers}, {ex.Store.Following, &e.Following}} {
		for page := (store.Page{Limit: 100}); ; {
			up, err := list.get(user, user, page)
			if err != nil {
				return err
			}
			for _, f := range up.Users {
				*list.into = append(*list.into, Handle{Username: f.Username, Address: ex.Instance + "/u/" + f.Username})
			}
			if up.Next == 0 {
				break
			}
			page.Before = up.Next
		}
	}
	for _, h := range e.Following {
		e.Account.Following = append(e.Account.Following, h.Username)
	}
	fw, err := zw.Create(apertureIndex)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(fw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		return err
	}
	if fw, err = zw.Create("index.html"); err != nil {
		return err
	}
	if err := offlinePage.Execute(fw, e); err != nil {
		return err
	}
	return zw.Close()
}
