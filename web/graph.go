package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
)

type followOutput struct {
	Body struct {
		State store.FollowState `json:"state" enum:"none,requested,following"`
	}
}

type userPageInput struct {
	UserParam
	PageParams
}

type postsOutput struct{ Body List[PostView] }

type requestInput struct {
	UserID string `path:"user_id" maxLength:"20"`
}

func (s *Server) registerGraph(api huma.API) {
	tags := []string{"users"}
	huma.Register(api, s.op(huma.Operation{
		OperationID: "follow", Method: http.MethodPost, Path: "/api/v1/users/{username}/follow", Tags: tags,
		Summary: "Follow an account (or ask to, if it is private)", Security: bearer, Errors: []int{401, 404, 422},
	}), s.follow(false))
	huma.Register(api, s.op(huma.Operation{
		OperationID: "unfollow", Method: http.MethodDelete, Path: "/api/v1/users/{username}/follow", Tags: tags,
		Summary: "Unfollow an account, or withdraw a request", Security: bearer, Errors: []int{401, 404},
	}), s.follow(true))

	huma.Register(api, s.op(huma.Operation{
		OperationID: "block", Method: http.MethodPost, Path: "/api/v1/users/{username}/block", Tags: tags,
		Summary: "Block an account", Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401, 404, 422},
	}), s.block(false))
	huma.Register(api, s.op(huma.Operation{
		OperationID: "unblock", Method: http.MethodDelete, Path: "/api/v1/users/{username}/block", Tags: tags,
		Summary: "Unblock an account", Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401, 404},
	}), s.block(true))

	lists := map[string]func(viewer, user store.ID, p store.Page) (store.UserPage, error){
		"followers": s.st.Followers, "following": s.st.Following,
	}
	for name, list := range lists {
		huma.Register(api, s.op(huma.Operation{
			OperationID: "list-" + name, Method: http.MethodGet, Path: "/api/v1/users/{username}/" + name, Tags: tags,
			Summary: "An account's " + name, Errors: []int{401, 403, 404, 422},
		}), s.userList(list))
	}

	huma.Register(api, s.op(huma.Operation{
		OperationID: "list-user-posts", Method: http.MethodGet, Path: "/api/v1/users/{username}/posts", Tags: tags,
		Summary: "An account's posts, newest first (the profile grid)", Errors: []int{401, 403, 404, 422},
	}), s.userPosts)

	huma.Register(api, s.op(huma.Operation{
		OperationID: "list-follow-requests", Method: http.MethodGet, Path: "/api/v1/me/follow-requests", Tags: tags,
		Summary: "Pending requests to follow you", Security: bearer, Errors: []int{401, 422},
	}), s.followRequests)
	for _, approve := range []bool{true, false} {
		verb := "deny"
		if approve {
			verb = "approve"
		}
		huma.Register(api, s.op(huma.Operation{
			OperationID: verb + "-follow-request", Method: http.MethodPost, Path: "/api/v1/me/follow-requests/{user_id}/" + verb, Tags: tags,
			Summary: "Answer a follow request: " + verb, Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401, 404},
		}), s.answerRequest(approve))
	}
}

func (s *Server) postsPage(ctx context.Context, viewer store.ID, page store.PostPage) (*postsOutput, error) {
	views := s.renderHydrated(ctx, viewer, page.Posts, page.Hydrated)
	return &postsOutput{Body: List[PostView]{Items: views, Next: cursor(page.Next)}}, nil
}

// userPosts answers GET /api/v1/users/{username}/posts and the profile grid.
func (s *Server) userPosts(ctx context.Context, in *userPageInput) (*postsOutput, error) {
	me, user, pg, err := s.profileList(ctx, in)
	if err != nil {
		return nil, err
	}
	page, err := s.st.UserPosts(me, user, pg)
	if err != nil {
		return nil, err
	}
	return s.postsPage(ctx, me, page)
}

// profileList resolves what a list on a profile needs: the viewer, the
// account (if the viewer may see it: errors as ViewProfile) and the page.
func (s *Server) profileList(ctx context.Context, in *userPageInput) (me, user store.ID, pg store.Page, err error) {
	c, _ := viewer(ctx)
	u, _, err := s.st.ViewProfile(c.UserID, in.Username)
	if err != nil {
		return 0, 0, pg, err
	}
	pg, err = in.page()
	return c.UserID, u.ID, pg, err
}

// followRequests answers GET /api/v1/me/follow-requests and the requests page.
func (s *Server) followRequests(ctx context.Context, in *PageParams) (*usersOutput, error) {
	c, _ := viewer(ctx)
	pg, err := in.page()
	if err != nil {
		return nil, err
	}
	page, err := s.st.FollowRequests(c.UserID, pg)
	if err != nil {
		return nil, err
	}
	return s.usersPage(ctx, page)
}

// follow returns the handler of POST (undo: DELETE) /api/v1/users/{username}/follow, which the profile's follow button also calls.
func (s *Server) follow(undo bool) func(context.Context, *UserParam) (*followOutput, error) {
	return func(ctx context.Context, in *UserParam) (*followOutput, error) {
		c, _ := viewer(ctx)
		target, err := s.st.UserByUsername(in.Username)
		if err != nil {
			return nil, err
		}
		var state store.FollowState
		if undo {
			state, err = store.Exec(ctx, s.st, store.Unfollow{Meta: store.At(now(ctx)), FollowerID: c.UserID, TargetID: target.ID})
		} else {
			state, err = store.Exec(ctx, s.st, store.Follow{Meta: store.At(now(ctx)), FollowerID: c.UserID, TargetID: target.ID})
		}
		if err != nil {
			return nil, err
		}
		s.wakeWorkers()
		out := &followOutput{}
		out.Body.State = state
		return out, nil
	}
}

// block returns the handler of POST (undo: DELETE) /api/v1/users/{username}/block, which the profile's block button also calls.
func (s *Server) block(undo bool) func(context.Context, *UserParam) (*struct{}, error) {
	return func(ctx context.Context, in *UserParam) (*struct{}, error) {
		c, _ := viewer(ctx)
		target, err := s.st.UserByUsername(in.Username)
		if err != nil {
			return nil, err
		}
		if undo {
			_, err = store.Exec(ctx, s.st, store.Unblock{Meta: store.At(now(ctx)), BlockerID: c.UserID, BlockedID: target.ID})
		} else {
			_, err = store.Exec(ctx, s.st, store.Block{Meta: store.At(now(ctx)), BlockerID: c.UserID, BlockedID: target.ID})
		}
		s.wakeWorkers()
		return nil, err
	}
}

// answerRequest returns the handler of POST /api/v1/me/follow-requests/{user_id}/approve (or deny), which the requests page also calls.
func (s *Server) answerRequest(approve bool) func(ctx context.Context, in *requestInput) (*struct{}, error) {
	return func(ctx context.Context, in *requestInput) (*struct{}, error) {
		c, _ := viewer(ctx)
		id, err := parseID("request", in.UserID)
		if err != nil {
			return nil, err
		}
		_, err = store.Exec(ctx, s.st, store.AnswerRequest{Meta: store.At(now(ctx)), TargetID: c.UserID, RequesterID: id, Approve: approve})
		s.wakeWorkers()
		return nil, err
	}
}

// userList returns the handler of GET /api/v1/users/{username}/followers
// (or following, by list), which the profile's lists also call.
func (s *Server) userList(list func(viewer, user store.ID, p store.Page) (store.UserPage, error)) func(context.Context, *userPageInput) (*usersOutput, error) {
	return func(ctx context.Context, in *userPageInput) (*usersOutput, error) {
		me, user, pg, err := s.profileList(ctx, in)
		if err != nil {
			return nil, err
		}
		page, err := list(me, user, pg)
		if err != nil {
			return nil, err
		}
		return s.usersPage(ctx, page)
	}
}
