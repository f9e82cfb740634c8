package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"aperture/store"
)

// ExportView is a "Download your data" request and, once ready, where to
// download it.
type ExportView struct {
	ID          store.ID   `json:"id"`
	State       string     `json:"state" enum:"queued,done,failed"`
	Bytes       int64      `json:"bytes,omitempty"`
	DownloadURL string     `json:"download_url,omitempty" doc:"While the export is kept (a day): the ZIP, for the signed-in browser"`
	Expires     *time.Time `json:"expires,omitempty"`
	Error       string     `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

func exportView(r *store.ExportRun, at time.Time) ExportView {
	v := ExportView{ID: r.ID, State: r.State, Bytes: r.Bytes, Error: r.Error, CreatedAt: r.CreatedAt}
	if r.State == store.ImportDone {
		v.Expires = &r.Expires
		if at.Before(r.Expires) {
			v.DownloadURL = "/settings/exports/" + r.ID.String() + ".zip"
		}
	}
	return v
}

type exportOutput struct{ Body ExportView }
type exportsOutput struct{ Body List[ExportView] }

func (s *Server) registerExports(api huma.API) {
	tags := []string{"exports"}
	huma.Register(api, s.op(huma.Operation{OperationID: "start-export", Method: http.MethodPost, Path: "/api/v1/me/exports", Tags: tags,
		Summary:     "Ask for a ZIP of your account: profile, posts with their photos, comments, likes, followers and following",
		Description: "Made in the background; GET /api/v1/me/exports shows when it is ready. One an hour; each is kept a day. Another aperture instance imports it (POST …/imports/uploads).",
		Security:    bearer, DefaultStatus: http.StatusAccepted, Errors: []int{401, 409, 503}}),
		func(ctx context.Context, _ *struct{}) (*exportOutput, error) {
			c, _ := viewer(ctx)
			return s.startExport(ctx, c.UserID)
		})
	huma.Register(api, s.op(huma.Operation{OperationID: "list-exports", Method: http.MethodGet, Path: "/api/v1/me/exports", Tags: tags,
		Summary: "Your exports, newest first", Security: bearer, Errors: []int{401}}),
		func(ctx context.Context, _ *struct{}) (*exportsOutput, error) {
			c, _ := viewer(ctx)
			runs, err := s.st.ExportRuns(c.UserID, 5)
			if err != nil {
				return nil, err
			}
			out := &exportsOutput{Body: List[ExportView]{Items: []ExportView{}}}
			for _, r := range runs {
				out.Body.Items = append(out.Body.Items, exportView(r, now(ctx)))
			}
			return out, nil
		})
}

func (s *Server) startExport(ctx context.Context, user store.ID) (*exportOutput, error) {
	if s.exports == "" {
		return nil, store.Errorf(store.ErrUnavailable, "Exports are not available on this server (a cluster cannot export yet).")
	}
	r, err := store.Exec(ctx, s.st, store.StartExport{Meta: store.At(now(ctx)), UserID: user})
	if err != nil {
		return nil, err
	}
	if s.wake != nil {
		s.wake()
	}
	return &exportOutput{Body: exportView(r, now(ctx))}, nil
}

func (s *Server) registerExportPages() {
	s.app.Post("/settings/export", s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
		if _, err := s.startExport(ctx, me(c)); err != nil {
			return "", err
		}
		s.flash(c, "Your data is being gathered; the download appears under “Download your data” when it is ready.")
		return "/settings#export", nil
	}))
	s.app.Get("/settings/exports/:file", s.html(s.downloadExport))
}

// downloadExport sends the signed-in account's export while it is kept.
func (s *Server) downloadExport(c *fiber.Ctx, ctx context.Context) error {
	user, err := requireMe(c)
	if err != nil {
		return err
	}
	id, err := store.ParseID(strings.TrimSuffix(c.Params("file"), ".zip"))
	if err != nil {
		return fiber.ErrNotFound
	}
	runs, err := s.st.ExportRuns(user, 5)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if r.ID != id || r.State != store.ImportDone || r.File != filepath.Base(r.File) {
			continue
		}
		if !now(ctx).Before(r.Expires) {
			return store.Errorf(store.ErrNotFound, "This export was kept for a day and has been removed; ask for a new one in Settings.")
		}
		f, err := os.Open(filepath.Join(s.exports, r.File))
		if err != nil {
			return store.Errorf(store.ErrNotFound, "This export is no longer here; ask for a new one in Settings.")
		}
		u, _ := s.st.User(user)
		c.Set(fiber.HeaderContentType, "application/zip")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="aperture-%s-%s.zip"`, u.Username, r.ReadyAt.Format("2006-01-02")))
		c.Set(fiber.HeaderCacheControl, "private, no-store")
		return c.SendStream(f, int(r.Bytes))
	}
	return fiber.ErrNotFound
}
