package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
)

// PostIDParam is the {id} of a post route.
type PostIDParam struct {
	ID string `path:"id" maxLength:"20" doc:"The post's ID"`
}

func parseID(field, s string) (store.ID, error) {
	id, err := store.ParseID(s)
	if err != nil {
		return 0, store.Errorf(store.ErrNotFound, "There is no %s with that ID.", field)
	}
	return id, nil
}

type createPostInput struct {
	Body struct {
		Caption  string        `json:"caption,omitempty" maxLength:"20000" doc:"Up to 2,200 characters; #tags and @mentions are parsed from it"`
		MediaIDs []store.ID    `json:"media_ids" minItems:"1" maxItems:"10" doc:"1 to 10 of your uploads, in order (several make a carousel)"`
		Location *LocationView `json:"location,omitempty"`
	}
}

type postOutput struct{ Body PostView }

type editPostInput struct {
	PostIDParam
	Body struct {
		Caption string `json:"caption" maxLength:"20000"`
	}
}

type likeOutput struct {
	Body struct {
		Liked     bool  `json:"liked"`
		LikeCount int64 `json:"like_count"`
	}
}

type listPostIDInput struct {
	PostIDParam
	PageParams
}

// parse returns the post ID and the page asked for.
func (in *listPostIDInput) parse() (store.ID, store.Page, error) {
	pid, err := parseID("post", in.ID)
	if err != nil {
		return 0, store.Page{}, err
	}
	pg, err := in.page()
	return pid, pg, err
}

type usersOutput struct{ Body List[AuthorView] }

type commentInput struct {
	PostIDParam
	Body struct {
		Text string `json:"text" minLength:"1" maxLength:"20000" doc:"Up to 2,200 characters"`
	}
}

type commentOutput struct{ Body CommentView }

type commentsOutput struct{ Body List[CommentView] }

type commentIDInput struct {
	ID string `path:"id" maxLength:"20"`
}

func (s *Server) registerPosts(api huma.API) {
	tags := []string{"posts"}
	huma.Register(api, s.op(huma.Operation{
		OperationID: "create-post", Method: http.MethodPost, Path: "/api/v1/posts", Tags: tags,
		Summary: "Share uploaded photos as a post", Security: bearer, DefaultStatus: http.StatusCreated,
		Errors: []int{400, 401, 403, 422},
	}), s.createPost)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "get-post", Method: http.MethodGet, Path: "/api/v1/posts/{id}", Tags: tags,
		Summary: "A post", Errors: []int{401, 403, 404},
	}), s.getPost)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "edit-post", Method: http.MethodPatch, Path: "/api/v1/posts/{id}", Tags: tags,
		Summary: "Change a post's caption", Security: bearer, Errors: []int{400, 401, 403, 404, 422},
	}), func(ctx context.Context, in *editPostInput) (*postOutput, error) {
		id, err := parseID("post", in.ID)
		if err != nil {
			return nil, err
		}
		c, _ := viewer(ctx)
		p, err := store.Exec(ctx, s.st, store.EditCaption{Meta: store.At(now(ctx)), ActorID: c.UserID, PostID: id, Caption: in.Body.Caption})
		if err != nil {
			return nil, err
		}
		s.wakeWorkers()
		return s.onePost(ctx, c.UserID, p)
	})

	huma.Register(api, s.op(huma.Operation{
		OperationID: "delete-post", Method: http.MethodDelete, Path: "/api/v1/posts/{id}", Tags: tags,
		Summary: "Delete a post", Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401, 403, 404},
	}), s.deletePost)

	for _, undo := range []bool{false, true} {
		method, id, summary := http.MethodPost, "like-post", "Like a post"
		if undo {
			method, id, summary = http.MethodDelete, "unlike-post", "Take a like back"
		}
		huma.Register(api, s.op(huma.Operation{
			OperationID: id, Method: method, Path: "/api/v1/posts/{id}/like", Tags: tags,
			Summary: summary, Security: bearer, Errors: []int{401, 403, 404},
		}), s.like(undo))
	}

	huma.Register(api, s.op(huma.Operation{
		OperationID: "list-likes", Method: http.MethodGet, Path: "/api/v1/posts/{id}/likes", Tags: tags,
		Summary: "Who likes a post", Errors: []int{401, 403, 404, 422},
	}), s.likers)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "list-comments", Method: http.MethodGet, Path: "/api/v1/posts/{id}/comments", Tags: tags,
		Summary: "A post's comments, newest first", Errors: []int{401, 403, 404, 422},
	}), s.comments)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "add-comment", Method: http.MethodPost, Path: "/api/v1/posts/{id}/comments", Tags: tags,
		Summary: "Comment on a post", Security: bearer, DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 404, 422},
	}), s.addComment)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "delete-comment", Method: http.MethodDelete, Path: "/api/v1/comments/{id}", Tags: tags,
		Summary: "Delete a comment (its author or the post's author)", Security: bearer, DefaultStatus: http.StatusNoContent,
		Errors: []int{401, 403, 404},
	}), s.deleteComment)
}

func (s *Server) onePost(ctx context.Context, viewer store.ID, p *store.Post) (*postOutput, error) {
	views, err := s.renderPosts(ctx, viewer, []*store.Post{p})
	if err != nil || len(views) == 0 {
		return nil, err
	}
	return &postOutput{Body: views[0]}, nil
}

func (s *Server) usersPage(ctx context.Context, page store.UserPage) (*usersOutput, error) {
	views, err := s.renderUsers(page.Users, now(ctx))
	if err != nil {
		return nil, err
	}
	return &usersOutput{Body: List[AuthorView]{Items: views, Next: cursor(page.Next)}}, nil
}

func (s *Server) renderComments(ctx context.Context, cs []*store.Comment) ([]CommentView, error) {
	ids := make([]store.ID, len(cs))
	for i, c := range cs {
		ids[i] = c.AuthorID
	}
	h, err := s.st.Hydrate(0, nil, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]CommentView, 0, len(cs))
	for _, c := range cs {
		if u, ok := h.Authors[c.AuthorID]; ok {
			out = append(out, CommentView{ID: c.ID, PostID: c.PostID, Author: s.authorView(u, h.Media, now(ctx)), Text: c.Text, CreatedAt: c.CreatedAt})
		}
	}
	return out, nil
}

// wakeWorkers tells the job pool that a command wrote jobs.
func (s *Server) wakeWorkers() {
	if s.wake != nil {
		s.wake()
	}
}

// createPost answers POST /api/v1/posts and the new-post form.
func (s *Server) createPost(ctx context.Context, in *createPostInput) (*postOutput, error) {
	c, _ := viewer(ctx)
	cmd := store.CreatePost{Meta: store.At(now(ctx)), AuthorID: c.UserID, Caption: in.Body.Caption, MediaIDs: in.Body.MediaIDs}
	if l := in.Body.Location; l != nil {
		cmd.Location = &store.Location{Name: l.Name, Lat: l.Lat, Lon: l.Lon}
	}
	p, err := store.Exec(ctx, s.st, cmd)
	if err != nil {
		return nil, err
	}
	s.metrics.posts.Inc()
	s.stats.posts.Add(1)
	s.wakeWorkers()
	return s.onePost(ctx, c.UserID, p)
}

// getPost answers GET /api/v1/posts/{id} and the post page.
func (s *Server) getPost(ctx context.Context, in *PostIDParam) (*postOutput, error) {
	id, err := parseID("post", in.ID)
	if err != nil {
		return nil, err
	}
	c, _ := viewer(ctx)
	p, err := s.st.ViewPost(c.UserID, id)
	if err != nil {
		return nil, err
	}
	return s.onePost(ctx, c.UserID, p)
}

// deletePost answers DELETE /api/v1/posts/{id} and the post page's delete button.
func (s *Server) deletePost(ctx context.Context, in *PostIDParam) (*struct{}, error) {
	id, err := parseID("post", in.ID)
	if err != nil {
		return nil, err
	}
	c, _ := viewer(ctx)
	_, err = store.Exec(ctx, s.st, store.DeletePost{Meta: store.At(now(ctx)), ActorID: c.UserID, PostID: id})
	s.wakeWorkers()
	return nil, err
}

// likers answers GET /api/v1/posts/{id}/likes and the likes page.
func (s *Server) likers(ctx context.Context, in *listPostIDInput) (*usersOutput, error) {
	pid, pg, err := in.parse()
	if err != nil {
		return nil, err
	}
	c, _ := viewer(ctx)
	page, err := s.st.Likers(c.UserID, pid, pg)
	if err != nil {
		return nil, err
	}
	return s.usersPage(ctx, page)
}

// comments answers GET /api/v1/posts/{id}/comments and the post page's comments.
func (s *Server) comments(ctx context.Context, in *listPostIDInput) (*commentsOutput, error) {
	pid, pg, err := in.parse()
	if err != nil {
		return nil, err
	}
	c, _ := viewer(ctx)
	page, err := s.st.Comments(c.UserID, pid, pg)
	if err != nil {
		return nil, err
	}
	views, err := s.renderComments(ctx, page.Comments)
	if err != nil {
		return nil, err
	}
	return &commentsOutput{Body: List[CommentView]{Items: views, Next: cursor(page.Next)}}, nil
}

// addComment answers POST /api/v1/posts/{id}/comments and the comment form.
func (s *Server) addComment(ctx context.Context, in *commentInput) (*commentOutput, error) {
	pid, err := parseID("post", in.ID)
	if err != nil {
		return nil, err
	}
	c, _ := viewer(ctx)
	cm, err := store.Exec(ctx, s.st, store.AddComment{Meta: store.At(now(ctx)), AuthorID: c.UserID, PostID: pid, Text: in.Body.Text})
	if err != nil {
		return nil, err
	}
	s.metrics.comments.Inc()
	s.wakeWorkers()
	views, err := s.renderComments(ctx, []*store.Comment{cm})
	if err != nil || len(views) == 0 {
		return nil, err
	}
	return &commentOutput{Body: views[0]}, nil
}

// deleteComment answers DELETE /api/v1/comments/{id} and the comment delete button.
func (s *Server) deleteComment(ctx context.Context, in *commentIDInput) (*struct{}, error) {
	id, err := parseID("comment", in.ID)
	if err != nil {
		return nil, err
	}
	c, _ := viewer(ctx)
	_, err = store.Exec(ctx, s.st, store.DeleteComment{Meta: store.At(now(ctx)), ActorID: c.UserID, CommentID: id})
	return nil, err
}

// like returns the handler of POST (undo: DELETE) /api/v1/posts/{id}/like, which the like button also calls.
func (s *Server) like(undo bool) func(ctx context.Context, in *PostIDParam) (*likeOutput, error) {
	return func(ctx context.Context, in *PostIDParam) (*likeOutput, error) {
		pid, err := parseID("post", in.ID)
		if err != nil {
			return nil, err
		}
		c, _ := viewer(ctx)
		n, err := store.Exec(ctx, s.st, store.Like{Meta: store.At(now(ctx)), UserID: c.UserID, PostID: pid, Undo: undo})
		if err != nil {
			return nil, err
		}
		if !undo {
			s.metrics.likes.Inc()
		}
		s.wakeWorkers()
		out := &likeOutput{}
		out.Body.Liked, out.Body.LikeCount = !undo, n
		return out, nil
	}
}
