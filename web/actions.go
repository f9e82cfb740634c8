package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"aperture/media"
	"aperture/store"
)

// The forms of the pages, for browsers without JavaScript (with it, the
// same buttons call the JSON API in place). Each runs the API's own
// operation and sends the browser back.
func (s *Server) registerActions() {
	a := s.app
	postID := func(c *fiber.Ctx) *PostIDParam { return &PostIDParam{ID: strings.Clone(c.Params("id"))} }
	user := func(c *fiber.Ctx) *UserParam { return &UserParam{Username: strings.Clone(c.Params("username"))} }
	for _, undo := range []bool{false, true} {
		verb := map[bool]string{false: "like", true: "unlike"}[undo]
		a.Post("/p/:id/"+verb, s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
			_, err := asAPI(s, ctx, map[bool]string{false: "like-post", true: "unlike-post"}[undo], s.like(undo), postID(c))
			return "", err
		}))
		verb = map[bool]string{false: "follow", true: "unfollow"}[undo]
		a.Post("/u/:username/"+verb, s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
			_, err := asAPI(s, ctx, map[bool]string{false: "follow", true: "unfollow"}[undo], s.follow(undo), user(c))
			return "", err
		}))
		verb = map[bool]string{false: "block", true: "unblock"}[undo]
		a.Post("/u/:username/"+verb, s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
			_, err := asAPI(s, ctx, map[bool]string{false: "block", true: "unblock"}[undo], s.block(undo), user(c))
			return "", err
		}))
		verb = map[bool]string{false: "approve", true: "deny"}[undo]
		a.Post("/requests/:id/"+verb, s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
			_, err := asAPI(s, ctx, map[bool]string{false: "approve-follow-request", true: "deny-follow-request"}[undo], s.answerRequest(!undo),
				&requestInput{UserID: strings.Clone(c.Params("id"))})
			return "", err
		}))
	}
	a.Post("/p/:id/comments", s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
		in := &commentInput{PostIDParam: *postID(c)}
		in.Body.Text = strings.Clone(c.FormValue("text"))
		out, err := asAPI(s, ctx, "add-comment", s.addComment, in)
		if err != nil {
			return "", err
		}
		return "/p/" + in.ID + "#c" + out.Body.ID.String(), nil
	}))
	a.Post("/p/:id/delete", s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
		if _, err := asAPI(s, ctx, "delete-post", s.deletePost, postID(c)); err != nil {
			return "", err
		}
		return "/", nil
	}))
	a.Post("/p/:id/report", s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
		id, err := parseID("post", c.Params("id"))
		if err != nil {
			return "", err
		}
		in := &reportInput{}
		in.Body.PostID, in.Body.Reason = &id, strings.Clone(c.FormValue("reason"))
		if _, err := asAPI(s, ctx, "file-report", s.fileReport, in); err != nil {
			return "", err
		}
		s.flash(c, "Thank you. The administrators will look at it.")
		return "", nil
	}))
	a.Post("/u/:username/report", s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
		in := &reportInput{}
		in.Body.Username, in.Body.Reason = strings.Clone(c.Params("username")), strings.Clone(c.FormValue("reason"))
		if _, err := asAPI(s, ctx, "file-report", s.fileReport, in); err != nil {
			return "", err
		}
		s.flash(c, "Thank you. The administrators will look at it.")
		return "", nil
	}))
	a.Post("/c/:id/delete", s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
		_, err := asAPI(s, ctx, "delete-comment", s.deleteComment, &commentIDInput{ID: strings.Clone(c.Params("id"))})
		return "", err
	}))
}

// namedPlace is the location of a post whose form gave a place's name
// alone (as it does without JavaScript): the place of that name, the one
// nearest the photo when the photo knows where it was taken; else, a new
// place of that name where the photo was taken. With neither, it returns
// an ErrInvalid error that says what to do.
func (s *Server) namedPlace(name string, gps *LatLonView) (*LocationView, error) {
	var at LatLonView
	if gps != nil {
		at = *gps
	}
	pl, err := s.search.PlaceNamed(name, at.Lat, at.Lon, gps != nil)
	switch {
	case err == nil:
		return &LocationView{Name: pl.Name, Lat: pl.Lat, Lon: pl.Lon}, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	case gps != nil:
		return &LocationView{Name: name, Lat: gps.Lat, Lon: gps.Lon}, nil
	}
	return nil, store.Invalid("place", "No place called “%s” has photos here yet, and this photo does not say where it was taken. Choose a place that others have used, or leave the location empty.", name)
}

// aspects are the crops the new-post form offers.
var aspects = map[string]float64{"square": 1, "portrait": 0.8}

// newForm shares the photos of the new-post form as one post: each photo
// is cropped to the chosen aspect and filtered, then the post is created.
func (s *Server) newForm(c *fiber.Ctx, ctx context.Context) error {
	if _, err := requireMe(c); err != nil {
		return err
	}
	if !s.cookies.validCSRF(c) {
		return s.renderNew(c, http.StatusForbidden, "This form came without its CSRF token, so it was refused; reload the page and try again.")
	}
	id, err := s.shareForm(c, ctx)
	if err != nil {
		p, cause := newProblem(http.StatusInternalServerError, "", err)
		if cause != nil {
			return err
		}
		return s.renderNew(c, p.Status, p.Detail)
	}
	return redirect(c, "/p/"+id.String())
}

func (s *Server) shareForm(c *fiber.Ctx, ctx context.Context) (store.ID, error) {
	cl, _ := viewer(ctx)
	form, err := c.MultipartForm()
	if err != nil || len(form.File["file"]) == 0 {
		return 0, store.Invalid("file", "Choose at least one photo to share.")
	}
	files := form.File["file"]
	if len(files) > 10 {
		return 0, store.Invalid("file", "A post holds at most 10 photos.")
	}
	in := &createPostInput{}
	in.Body.Caption = strings.Clone(c.FormValue("caption"))
	place := strings.Clone(strings.TrimSpace(c.FormValue("place")))
	lat, lon := strings.TrimSpace(c.FormValue("lat")), strings.TrimSpace(c.FormValue("lon"))
	if place != "" && (lat != "" || lon != "") {
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(lon, 64)
		if err1 != nil || err2 != nil {
			return 0, store.Invalid("location", "Pick the place from the suggestions, or leave the location empty.")
		}
		in.Body.Location = &LocationView{Name: place, Lat: la, Lon: lo}
	}
	edit := media.Edit{Filter: strings.Clone(c.FormValue("filter")), Aspect: aspects[c.FormValue("aspect")]}
	alt := strings.Clone(c.FormValue("alt"))
	// Refuse what the API would refuse before any photo is processed.
	if err := s.checkForm("upload-media", map[string]any{"alt": alt, "filter": edit.Filter}); err != nil {
		return 0, err
	}
	if err := s.checkInput("create-post", in); err != nil {
		return 0, err
	}
	var gps *LatLonView // where the first photo that knows it was taken
	for _, fh := range files {
		data, err := readFormFile(fh, s.uploadLimit())
		if err != nil {
			return 0, err
		}
		v, err := s.upload(ctx, cl.UserID, data, edit, alt)
		if err != nil {
			return 0, err
		}
		in.Body.MediaIDs = append(in.Body.MediaIDs, v.ID)
		if gps == nil {
			gps = v.LocationSuggestion
		}
	}
	if place != "" && in.Body.Location == nil {
		if in.Body.Location, err = s.namedPlace(place, gps); err != nil {
			return 0, err
		}
	}
	out, err := asAPI(s, ctx, "create-post", s.createPost, in)
	if err != nil {
		return 0, err
	}
	return out.Body.ID, nil
}
