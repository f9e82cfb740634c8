package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"aperture/store"
)

// The admin pages call the admin API's own operations (see admin.go).

func (s *Server) registerAdminPages() {
	a := s.app
	a.Get("/admin", s.html(s.adminDashboard))
	a.Get("/admin/users", s.html(s.adminUsersPage))
	a.Get("/admin/reports", s.html(s.adminReportsPage))
	a.Get("/admin/jobs", s.html(s.adminJobsPage))
	a.Get("/admin/settings", s.html(s.adminSettingsPage))
	a.Get("/admin/cluster", s.html(s.adminClusterPage))
	a.Get("/admin/alerts", s.html(s.adminAlertsPage))
	a.Post("/admin/alerts/test", s.adminAction(s.adminAlertsTestForm))
	user := func(c *fiber.Ctx) *UserParam { return &UserParam{Username: strings.Clone(c.Params("username"))} }
	a.Post("/admin/users/:username/suspend", s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
		in := user(c)
		if err := s.checkInput("admin-suspend", in); err != nil {
			return err
		}
		_, err := s.adminSuspend(ctx, in, true)
		return err
	}))
	a.Post("/admin/users/:username/unsuspend", s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
		in := user(c)
		if err := s.checkInput("admin-unsuspend", in); err != nil {
			return err
		}
		_, err := s.adminSuspend(ctx, in, false)
		return err
	}))
	a.Post("/admin/users/:username/delete", s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
		_, err := asAPI(s, ctx, "admin-delete-user", s.adminDeleteUser, user(c))
		return err
	}))
	for _, act := range []string{"remove", "dismiss"} {
		a.Post("/admin/reports/:id/"+act, s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
			in := &resolveInput{ID: strings.Clone(c.Params("id"))}
			in.Body.Action = act
			_, err := asAPI(s, ctx, "admin-resolve-report", s.adminResolve, in)
			return err
		}))
	}
	a.Post("/admin/jobs/:id/retry", s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
		_, err := asAPI(s, ctx, "admin-retry-job", s.adminRetryJob, &jobIDInput{ID: strings.Clone(c.Params("id"))})
		return err
	}))
	a.Post("/admin/jobs/:id/discard", s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
		_, err := asAPI(s, ctx, "admin-discard-job", s.adminDiscardJob, &jobIDInput{ID: strings.Clone(c.Params("id"))})
		return err
	}))
	a.Post("/admin/settings", s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
		in := &settingsInput{}
		in.Body.Registration = strings.Clone(c.FormValue("registration"))
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue("max_upload_mb", "0")))
		if err != nil {
			return store.Invalid("max_upload_mb", "The upload limit is a whole number of megabytes.")
		}
		in.Body.MaxUploadMB = n
		_, err = asAPI(s, ctx, "admin-update-settings", s.adminUpdateSettings, in)
		return err
	}))
	a.Post("/admin/invites", s.adminAction(func(c *fiber.Ctx, ctx context.Context) error {
		_, err := s.adminCreateInvite(ctx, nil)
		return err
	}))
}

// adminAction is an admin form: it refuses non-administrators with 403
// before anything else, then acts like any form (see action).
func (s *Server) adminAction(fn func(c *fiber.Ctx, ctx context.Context) error) fiber.Handler {
	inner := s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) { return "", fn(c, ctx) })
	return func(c *fiber.Ctx) error {
		if _, err := s.requireAdmin(ctxOf(c)); err != nil {
			return s.errorPage(c, err)
		}
		return inner(c)
	}
}

// adminPage renders one section of the admin pages with data; the
// cluster's tab shows only on a node of a cluster.
func (s *Server) adminPage(c *fiber.Ctx, title, section string, data map[string]any) error {
	data["Section"], data["Clustered"] = section, s.cluster != nil
	return s.page(c, http.StatusOK, "admin", &view{Title: title, Data: data})
}

func (s *Server) adminDashboard(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminStats(ctx, nil)
	if err != nil {
		return err
	}
	ob, err := s.st.OutboxStats()
	if err != nil {
		return err
	}
	open, err := s.st.Reports(true, 200)
	if err != nil {
		return err
	}
	level := Sample{At: time.Now(), Queue: float64(ob.Depth)}
	if s.disk != nil {
		d := s.disk()
		level.DBBytes, level.IndexBytes, level.MediaBytes = float64(d.DB), float64(d.Index), float64(d.Media)
	}
	imports, err := s.activeImports(ctx)
	if err != nil {
		return err
	}
	return s.adminPage(c, "Admin", "dashboard", map[string]any{"Charts": dashboardCharts(out.Body.Samples, level),
		"Active": out.Body.ActiveUsers, "Minutes": len(out.Body.Samples), "Queue": ob.Depth, "Dead": ob.DeadLetter, "Reports": len(open),
		"Imports": imports.Body.Items})
}

func (s *Server) adminUsersPage(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminUsers(ctx, &adminUsersInput{Q: strings.Clone(c.Query("q")), Limit: 200})
	if err != nil {
		return err
	}
	return s.adminPage(c, "Admin · accounts", "users", map[string]any{"Users": out.Body.Items, "Q": strings.Clone(c.Query("q"))})
}

func (s *Server) adminReportsPage(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminReports(ctx, &reportsInput{All: c.Query("all") == "1"})
	if err != nil {
		return err
	}
	return s.adminPage(c, "Admin · reports", "reports", map[string]any{"Reports": out.Body.Items, "All": c.Query("all") == "1"})
}

func (s *Server) adminJobsPage(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminDeadJobs(ctx, nil)
	if err != nil {
		return err
	}
	return s.adminPage(c, "Admin · failed jobs", "jobs", map[string]any{"Jobs": out.Body.Items})
}

func (s *Server) adminSettingsPage(c *fiber.Ctx, ctx context.Context) error {
	out, err := s.adminSettings(ctx, nil)
	if err != nil {
		return err
	}
	codes, err := s.adminInvites(ctx, nil)
	if err != nil {
		return err
	}
	return s.adminPage(c, "Admin · settings", "settings", map[string]any{"Settings": out.Body, "Invites": codes.Body.Items,
		"ServerMB": s.media.Config().MaxBytes >> 20})
}
