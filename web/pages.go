package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"aperture/media"
	"aperture/store"
	"aperture/web/auth"
)

// The HTML pages call the same operations as the JSON API (the methods
// its routes are registered with), so both answer alike.

const cookieFlash = "ap_flash"

// ctxOf returns a context carrying the request's info, as huma gives the
// API's handlers.
func ctxOf(c *fiber.Ctx) context.Context {
	return context.WithValue(c.UserContext(), reqKey{}, requestInfo(c))
}

// html wraps a page handler: it marks the request as a page and renders
// errors as an error page with the API's sentence.
func (s *Server) html(fn func(c *fiber.Ctx, ctx context.Context) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ri := requestInfo(c); ri != nil {
			ri.page = true
		}
		err := fn(c, ctxOf(c))
		if err == nil {
			return nil
		}
		return s.errorPage(c, err)
	}
}

// errorPage renders err as a page; a page that needs a signed-in user
// sends the browser to log in instead.
func (s *Server) errorPage(c *fiber.Ctx, err error) error {
	p, cause := newProblem(http.StatusInternalServerError, "", err)
	var fe *fiber.Error
	if errors.As(err, &fe) {
		p, cause = newProblem(fe.Code, fe.Message)
		if fe.Code == http.StatusNotFound {
			p.Detail = "The page you asked for is not here. The link may be broken, or the page may have been removed."
		}
	}
	if cause != nil {
		if ri := requestInfo(c); ri != nil {
			ri.err = cause
		}
	}
	if p.Status == http.StatusUnauthorized {
		return redirect(c, "/login?next="+url.QueryEscape(string(c.Request().URI().RequestURI())))
	}
	return s.page(c, p.Status, "error", &view{Title: p.Title, Data: map[string]string{"Title": p.Title, "Detail": p.Detail}})
}

// signedIn is a page or action that needs a signed-in user.
var errSignIn = store.Errorf(store.ErrUnauthorized, "Log in first.")

func requireMe(c *fiber.Ctx) (store.ID, error) {
	if id := me(c); id != 0 {
		return id, nil
	}
	return 0, errSignIn
}

// action wraps a form handler: it checks the CSRF token and sign-in, runs
// the operation and sends the browser on (303) — back where it came from
// unless the handler names a place. A refused action comes back as a
// flash message with the API's sentence.
func (s *Server) action(public bool, fn func(c *fiber.Ctx, ctx context.Context) (string, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ri := requestInfo(c); ri != nil {
			ri.page = true
		}
		if !s.cookies.validCSRF(c) {
			p, _ := newProblem(http.StatusForbidden, "This form came without its CSRF token, so it was refused; reload the page and try again.")
			return s.page(c, p.Status, "error", &view{Title: p.Title, Data: map[string]string{"Title": p.Title, "Detail": p.Detail}})
		}
		if !public && me(c) == 0 {
			return redirect(c, "/login?next="+url.QueryEscape(backTo(c, "/")))
		}
		to, err := fn(c, ctxOf(c))
		if err != nil {
			p, cause := newProblem(http.StatusInternalServerError, "", err)
			if cause != nil {
				if ri := requestInfo(c); ri != nil {
					ri.err = cause
				}
			}
			s.flash(c, p.Detail)
			to = backTo(c, "/")
		}
		if to == "" {
			to = backTo(c, "/")
		}
		return redirect(c, to)
	}
}

func (s *Server) flash(c *fiber.Ctx, msg string) {
	c.Cookie(&fiber.Cookie{Name: cookieFlash, Value: url.QueryEscape(msg), Path: "/", MaxAge: 60,
		HTTPOnly: true, Secure: s.cfg.TLS, SameSite: fiber.CookieSameSiteLaxMode})
}

func nextCursor(path string, next *string) string {
	if next == nil {
		return ""
	}
	return path + "?before=" + url.QueryEscape(*next)
}

func pageParams(c *fiber.Ctx, limit int) PageParams {
	return PageParams{Before: strings.Clone(c.Query("before")), Limit: limit}
}

func (s *Server) registerPages() {
	a := s.app
	a.Get("/assets/*", s.ui.serveAsset)
	a.Get("/", s.html(s.homePage))
	a.Get("/login", s.html(s.authPage(false)))
	a.Get("/signup", s.html(s.authPage(true)))
	a.Post("/login", s.html(s.loginForm(false)))
	a.Post("/signup", s.html(s.loginForm(true)))
	a.Post("/logout", s.action(true, s.logoutForm))
	a.Get("/explore", s.html(s.explorePage))
	a.Get("/search", s.html(s.searchPage))
	a.Get("/tags/:tag", s.html(s.tagPage))
	a.Get("/places/:id", s.html(s.placePage))
	a.Get("/map", s.html(s.mapPage))
	a.Get("/p/:id", s.html(s.postPage))
	a.Get("/p/:id/likes", s.html(s.likesPage))
	a.Get("/u/:username", s.html(s.profilePage))
	a.Get("/u/:username/followers", s.html(s.followPage("followers")))
	a.Get("/u/:username/following", s.html(s.followPage("following")))
	a.Get("/accounts/edit", s.html(s.editPage))
	a.Post("/accounts/edit", s.html(s.editForm))
	a.Get("/requests", s.html(s.requestsPage))
	a.Get("/activity", s.html(s.activityPage))
	a.Get("/new", s.html(s.newPage))
	a.Post("/new", s.html(s.newForm))
	s.registerActions()
	s.registerAdminPages()
	s.registerSettingsPages()
	s.registerExportPages()
	a.Get("/sw.js", s.serviceWorker)
}

func (s *Server) homePage(c *fiber.Ctx, ctx context.Context) error {
	if me(c) == 0 {
		return s.authPage(false)(c, ctx)
	}
	pp := pageParams(c, 10)
	out, err := s.homeFeed(ctx, &pp)
	if err != nil {
		return err
	}
	data := map[string]any{"Posts": out.Body.Items, "Next": nextCursor("/", out.Body.Next)}
	// People to follow: on an empty feed, and beside the first page of a
	// full one (a sidebar on wide screens).
	if c.Query("before") == "" {
		n := 5
		if len(out.Body.Items) == 0 {
			n = 8
		}
		if data["Suggested"], err = s.suggestions(ctx, n); err != nil {
			return err
		}
	}
	return s.page(c, http.StatusOK, "home", &view{Nav: "home", Data: data})
}

type authData struct {
	Signup                             bool
	Next, Username, DisplayName, Error string
	Registration                       string // open, closed, invite
}

func (s *Server) authPage(signup bool) func(*fiber.Ctx, context.Context) error {
	return func(c *fiber.Ctx, ctx context.Context) error {
		if me(c) != 0 && c.Path() != "/" {
			return redirect(c, c.Query("next"))
		}
		title := "Log in"
		if signup {
			title = "Sign up"
		}
		settings, err := s.st.Settings()
		if err != nil {
			return err
		}
		return s.page(c, http.StatusOK, "auth", &view{Title: title, Data: authData{Signup: signup, Next: localPath(c.Query("next"), ""),
			Registration: settings.Registration}})
	}
}

// loginForm signs in (or up) from the form and keeps the tokens in
// cookies; a refusal shows the form again with the API's sentence.
func (s *Server) loginForm(signup bool) func(*fiber.Ctx, context.Context) error {
	return func(c *fiber.Ctx, ctx context.Context) error {
		settings, err := s.st.Settings()
		if err != nil {
			return err
		}
		d := authData{Signup: signup, Next: localPath(c.FormValue("next"), ""), Username: strings.Clone(c.FormValue("username")),
			DisplayName: strings.Clone(c.FormValue("display_name")), Registration: settings.Registration}
		title := "Log in"
		if signup {
			title = "Sign up"
		}
		if !s.cookies.validCSRF(c) {
			d.Error = "This form came without its CSRF token, so it was refused; reload the page and try again."
			return s.page(c, http.StatusForbidden, "auth", &view{Title: title, Data: d})
		}
		name := store.UsernameKey(d.Username)
		if p := s.limits.take(c, name, store.ShardForUsername(name)); p != nil {
			d.Error = p.Detail
			return s.page(c, p.Status, "auth", &view{Title: title, Data: d})
		}
		in := auth.SignUp{Username: d.Username, Password: strings.Clone(c.FormValue("password")), DisplayName: d.DisplayName,
			UserAgent: strings.Clone(c.Get("User-Agent")), Public: true, Invite: strings.Clone(c.FormValue("invite"))}
		var out *auth.Grant
		if err = s.checkSignIn(signup, in); err == nil {
			out, err = s.signIn(ctx, signup, in)
		}
		if err != nil {
			p, _ := newProblem(http.StatusBadRequest, "", err)
			d.Error = p.Detail
			return s.page(c, p.Status, "auth", &view{Title: title, Data: d})
		}
		s.cookies.signIn(c, out)
		return redirect(c, d.Next)
	}
}

func (s *Server) logoutForm(c *fiber.Ctx, ctx context.Context) (string, error) {
	if cl, ok := viewer(ctx); ok {
		if err := s.auth.Logout(ctx, cl.SessionID, now(ctx)); err != nil {
			return "", err
		}
	}
	s.cookies.signOut(c)
	return "/", nil
}

func (s *Server) explorePage(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.explorePosts(ctx, &exploreInput{Cursor: strings.Clone(c.Query("cursor")), Limit: 30})
	if err != nil {
		return err
	}
	next := ""
	if out.Body.Next != nil {
		next = "/explore?cursor=" + *out.Body.Next
	}
	return s.page(c, http.StatusOK, "explore", &view{Title: "Explore", Nav: "explore", Data: map[string]any{"Posts": out.Body.Items, "Next": next}})
}

func (s *Server) searchPage(c *fiber.Ctx, ctx context.Context) error {
	q := strings.Clone(c.Query("q"))
	data := map[string]any{"Q": q}
	if strings.TrimSpace(q) != "" {
		if len(q) > 200 {
			data["Error"] = "Search for at most 200 characters."
		} else {
			out, err := s.searchQuery(ctx, &searchInput{Q: q, Limit: 12})
			if err != nil {
				p, _ := newProblem(http.StatusInternalServerError, "", err)
				if p.Status >= 500 {
					return err
				}
				data["Error"] = p.Detail
			} else {
				data["Users"], data["Tags"], data["Posts"] = out.Body.Users, out.Body.Tags, out.Body.Posts
			}
			if places, err := s.placeSearch(ctx, &placeSearchInput{Q: q, Limit: 6}); err == nil {
				data["Places"] = places.Body.Items
			}
		}
	}
	return s.page(c, http.StatusOK, "search", &view{Title: "Search", Nav: "explore", Data: data})
}

func (s *Server) tagPage(c *fiber.Ctx, ctx context.Context) error {
	tag := strings.ToLower(strings.Clone(c.Params("tag")))
	if t, err := url.PathUnescape(tag); err == nil {
		tag = t
	}
	out, err := s.tagPosts(ctx, &tagInput{Tag: tag, PageParams: pageParams(c, 24)})
	if err != nil {
		return err
	}
	b := out.Body
	return s.page(c, http.StatusOK, "tag", &view{Title: "#" + b.Tag, Nav: "explore", Data: map[string]any{"Tag": b.Tag, "Count": b.Count,
		"Posts": b.Items, "Next": nextCursor("/tags/"+url.PathEscape(b.Tag), b.Next)}})
}

func (s *Server) placePage(c *fiber.Ctx, ctx context.Context) error {
	id := strings.Clone(c.Params("id"))
	out, err := s.placePosts(ctx, &placePostsInput{ID: id, PageParams: pageParams(c, 24)})
	if err != nil {
		return err
	}
	b := out.Body
	return s.page(c, http.StatusOK, "place", &view{Title: b.Place.Name, Nav: "explore", Data: map[string]any{"Place": b.Place,
		"Posts": b.Items, "Next": nextCursor("/places/"+id, b.Next)}})
}

func (s *Server) postPage(c *fiber.Ctx, ctx context.Context) error {
	id := strings.Clone(c.Params("id"))
	post, err := s.getPost(ctx, &PostIDParam{ID: id})
	if err != nil {
		return err
	}
	cs, err := s.comments(ctx, &listPostIDInput{PostIDParam: PostIDParam{ID: id}, PageParams: pageParams(c, 50)})
	if err != nil {
		return err
	}
	items := slices.Clone(cs.Body.Items)
	slices.Reverse(items) // oldest first, as a conversation reads
	p := post.Body
	cl, _ := viewer(ctx)
	title := p.Author.Username
	if p.Caption != "" {
		title += ": " + truncate(p.Caption, 60)
	}
	return s.page(c, http.StatusOK, "post", &view{Title: title, Data: map[string]any{"Post": p, "Comments": items,
		"Next": nextCursor("/p/"+id, cs.Body.Next), "Mine": cl.UserID == p.Author.ID}})
}

func (s *Server) likesPage(c *fiber.Ctx, ctx context.Context) error {
	id := strings.Clone(c.Params("id"))
	out, err := s.likers(ctx, &listPostIDInput{PostIDParam: PostIDParam{ID: id}, PageParams: pageParams(c, 50)})
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "users", &view{Title: "Likes", Data: map[string]any{"Heading": "Likes",
		"Users": out.Body.Items, "Next": nextCursor("/p/"+id+"/likes", out.Body.Next), "Empty": "No likes yet."}})
}

func (s *Server) profilePage(c *fiber.Ctx, ctx context.Context) error {
	name := strings.Clone(c.Params("username"))
	u, err := s.getUser(ctx, &UserParam{Username: name})
	if err != nil {
		return err
	}
	cl, _ := viewer(ctx)
	mine := cl.UserID == u.Body.ID
	data := map[string]any{"User": u.Body, "Mine": mine}
	posts, err := s.userPosts(ctx, &userPageInput{UserParam: UserParam{Username: name}, PageParams: pageParams(c, 24)})
	switch {
	case errors.Is(err, store.ErrForbidden):
		data["Hidden"] = true
	case err != nil:
		return err
	default:
		data["Posts"], data["Next"] = posts.Body.Items, nextCursor("/u/"+u.Body.Username, posts.Body.Next)
	}
	if mine {
		if data["Requests"], err = s.pendingRequests(cl.UserID); err != nil {
			return err
		}
	}
	nav := ""
	if mine {
		nav = "profile"
	}
	return s.page(c, http.StatusOK, "profile", &view{Title: u.Body.Username, Nav: nav, Data: data})
}

func (s *Server) pendingRequests(user store.ID) (int, error) {
	page, err := s.st.FollowRequests(user, store.Page{Limit: 100})
	return len(page.Users), err
}

func (s *Server) followPage(which string) func(*fiber.Ctx, context.Context) error {
	list := s.st.Followers
	if which == "following" {
		list = s.st.Following
	}
	return func(c *fiber.Ctx, ctx context.Context) error {
		name := strings.Clone(c.Params("username"))
		out, err := s.userList(list)(ctx, &userPageInput{UserParam: UserParam{Username: name}, PageParams: pageParams(c, 50)})
		if err != nil {
			return err
		}
		heading := "Followers of " + name
		if which == "following" {
			heading = name + " follows"
		}
		return s.page(c, http.StatusOK, "users", &view{Title: heading, Data: map[string]any{"Heading": heading,
			"Users": out.Body.Items, "Next": nextCursor("/u/"+name+"/"+which, out.Body.Next), "Empty": "No one yet."}})
	}
}

func (s *Server) editPage(c *fiber.Ctx, ctx context.Context) error {
	return s.renderEdit(c, ctx, http.StatusOK, "")
}

func (s *Server) renderEdit(c *fiber.Ctx, ctx context.Context, status int, msg string) error {
	uid, err := requireMe(c)
	if err != nil {
		return err
	}
	u, err := s.st.User(uid)
	if err != nil {
		return err
	}
	out, err := s.meOutput(ctx, u)
	if err != nil {
		return err
	}
	used, err := s.st.Usage(uid)
	if err != nil {
		return err
	}
	return s.page(c, status, "edit", &view{Title: "Edit profile", Nav: "profile", Data: map[string]any{"User": out.Body.UserView,
		"Email": out.Body.Email, "Error": msg, "UsedMB": float64(used) / (1 << 20), "QuotaMB": s.cfg.QuotaMB}})
}

// editForm saves the profile form, with an optional new avatar cropped
// square.
func (s *Server) editForm(c *fiber.Ctx, ctx context.Context) error {
	uid, err := requireMe(c)
	if err != nil {
		return err
	}
	if !s.cookies.validCSRF(c) {
		return s.renderEdit(c, ctx, http.StatusForbidden, "This form came without its CSRF token, so it was refused; reload the page and try again.")
	}
	in := &patchMeInput{}
	str := func(k string) *string { v := strings.Clone(c.FormValue(k)); return &v }
	in.Body.DisplayName, in.Body.Bio, in.Body.Website, in.Body.Email = str("display_name"), str("bio"), str("website"), str("email")
	private := c.FormValue("private") == "on"
	in.Body.Private = &private
	if err := s.checkInput("update-me", in); err != nil {
		p, _ := newProblem(http.StatusInternalServerError, "", err)
		return s.renderEdit(c, ctx, p.Status, p.Detail)
	}
	if fh, err := c.FormFile("avatar"); err == nil && fh.Size > 0 {
		data, err := readFormFile(fh, s.uploadLimit())
		if err == nil {
			var v *MediaView
			if v, err = s.upload(ctx, uid, data, media.Edit{Aspect: 1}, ""); err == nil {
				in.Body.AvatarMediaID = &v.ID
			}
		}
		if err != nil {
			p, _ := newProblem(http.StatusInternalServerError, "", err)
			return s.renderEdit(c, ctx, p.Status, p.Detail)
		}
	}
	if _, err := s.updateMe(ctx, in); err != nil {
		p, _ := newProblem(http.StatusInternalServerError, "", err)
		if p.Status >= 500 {
			return err
		}
		return s.renderEdit(c, ctx, p.Status, p.Detail)
	}
	u, err := s.st.User(uid)
	if err != nil {
		return err
	}
	return redirect(c, "/u/"+u.Username)
}

func (s *Server) requestsPage(c *fiber.Ctx, ctx context.Context) error {
	if _, err := requireMe(c); err != nil {
		return err
	}
	out, err := s.followRequests(ctx, &PageParams{Limit: 100})
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "requests", &view{Title: "Follow requests", Nav: "activity", Data: map[string]any{"Users": out.Body.Items}})
}

// activityPage shows the grouped activity and marks it read.
func (s *Server) activityPage(c *fiber.Ctx, ctx context.Context) error {
	uid, err := requireMe(c)
	if err != nil {
		return err
	}
	pp := pageParams(c, 30)
	out, err := s.activity(ctx, &pp)
	if err != nil {
		return err
	}
	if out.Body.Unread > 0 {
		if err := s.markRead(ctx, uid); err != nil {
			return err
		}
	}
	reqs, err := s.pendingRequests(uid)
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "activity", &view{Title: "Activity", Nav: "activity", Data: map[string]any{"Items": out.Body.Items,
		"Next": nextCursor("/activity", out.Body.Next), "Requests": reqs}})
}

func (s *Server) newPage(c *fiber.Ctx, ctx context.Context) error {
	if _, err := requireMe(c); err != nil {
		return err
	}
	return s.renderNew(c, http.StatusOK, "")
}

func (s *Server) renderNew(c *fiber.Ctx, status int, msg string) error {
	return s.page(c, status, "new", &view{Title: "New post", Nav: "new", Data: map[string]any{"Filters": media.Filters(), "Error": msg}})
}

// uploadTimeout bounds the photos of one form post.
const uploadTimeout = 2 * time.Minute
