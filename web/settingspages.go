package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"aperture/store"
)

// typeLabels name the pushable activity types on the settings page.
var typeLabels = map[string]string{store.ActLike: "Likes", store.ActComment: "Comments", store.ActFollow: "New followers",
	store.ActFollowRequest: "Follow requests", store.ActMention: "Mentions"}

func (s *Server) registerSettingsPages() {
	s.app.Get("/settings", s.html(s.settingsPage))
	s.app.Post("/settings", s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
		in := &prefsInput{}
		args := c.Request().PostArgs()
		for _, v := range args.PeekMulti("push") {
			in.Body.Push = append(in.Body.Push, string(v))
		}
		for _, name := range strings.Split(c.FormValue("muted"), ",") {
			if name = strings.TrimSpace(name); name != "" {
				in.Body.Muted = append(in.Body.Muted, name)
			}
		}
		in.Body.QuietFrom, in.Body.QuietTo = strings.Clone(c.FormValue("quiet_from")), strings.Clone(c.FormValue("quiet_to"))
		in.Body.UTCOffset, _ = strconv.Atoi(c.FormValue("utc_offset"))
		if _, err := asAPI(s, ctx, "update-preferences", s.updatePreferences, in); err != nil {
			return "", err
		}
		s.flash(c, "Saved.")
		return "/settings", nil
	}))
	for _, verb := range []string{"enable", "delete"} {
		s.app.Post("/settings/subscriptions/:id/"+verb, s.action(false, func(c *fiber.Ctx, ctx context.Context) (string, error) {
			in := &subIDInput{ID: strings.Clone(c.Params("id"))}
			var err error
			if verb == "enable" {
				if err = s.checkInput("enable-subscription", in); err == nil {
					_, err = s.setSubscription(ctx, in, true)
				}
			} else {
				_, err = asAPI(s, ctx, "delete-subscription", s.deleteSubscription, in)
			}
			return "/settings", err
		}))
	}
}

type typeChoice struct {
	Value, Label string
	On           bool
}

func (s *Server) settingsPage(c *fiber.Ctx, ctx context.Context) error {
	if _, err := requireMe(c); err != nil {
		return err
	}
	prefs, err := s.getPreferences(ctx, nil)
	if err != nil {
		return err
	}
	subs, err := s.listSubscriptions(ctx, nil)
	if err != nil {
		return err
	}
	var types []typeChoice
	for _, t := range store.ActivityTypes {
		types = append(types, typeChoice{Value: t, Label: typeLabels[t], On: slices.Contains(prefs.Body.Push, t)})
	}
	data := map[string]any{"Prefs": prefs.Body, "Types": types, "Muted": strings.Join(prefs.Body.Muted, ", "), "Subs": subs.Body.Items,
		"Imports": s.imports != ""}
	cl, _ := viewer(ctx)
	if runs, err := s.st.ImportRuns(cl.UserID, 1); err == nil && len(runs) > 0 {
		v := importView(runs[0])
		data["Import"] = v
		data["Skipped"] = skippedLines(v.Skipped)
		if v.State == store.ImportDone {
			if data["Follow"], err = s.importedFollows(ctx, cl.UserID, 30); err != nil {
				return err
			}
		}
	}
	data["Exports"] = s.exports != ""
	if runs, err := s.st.ExportRuns(cl.UserID, 1); err == nil && len(runs) > 0 {
		data["Export"] = exportView(runs[0], now(ctx))
	}
	return s.page(c, http.StatusOK, "settings", &view{Title: "Settings", Nav: "profile", Data: data})
}

// serviceWorker serves /sw.js from the root, the scope it must have.
func (s *Server) serviceWorker(c *fiber.Ctx) error {
	a := s.ui.assets["sw.js"]
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(a.body)
}

// skippedLines lists what an import left out, largest first.
func skippedLines(skipped map[string]int) []string {
	var out []string
	for reason, n := range skipped {
		if n > 0 {
			out = append(out, strconv.Itoa(n)+" "+reason)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		na, _ := strconv.Atoi(strings.Fields(a)[0])
		nb, _ := strconv.Atoi(strings.Fields(b)[0])
		return nb - na
	})
	return out
}
