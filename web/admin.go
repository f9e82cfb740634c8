package web

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
)

// AdminUserView is an account as administrators see it.
type AdminUserView struct {
	ID          store.ID     `json:"id"`
	Username    string       `json:"username"`
	DisplayName string       `json:"display_name"`
	Email       string       `json:"email"`
	Admin       bool         `json:"admin"`
	Private     bool         `json:"private"`
	Suspended   bool         `json:"suspended"`
	Deleted     bool         `json:"deleted"`
	Counts      store.Counts `json:"counts"`
	CreatedAt   time.Time    `json:"created_at"`
}

func adminUserView(u *store.User) AdminUserView {
	return AdminUserView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email, Admin: u.Admin,
		Private: u.Private, Suspended: u.Suspended, Deleted: u.Deleted, Counts: u.Counts, CreatedAt: u.CreatedAt}
}

// ReportView is a report with the names an administrator needs.
type ReportView struct {
	ID         store.ID  `json:"id"`
	Reporter   string    `json:"reporter"`
	User       string    `json:"user" doc:"The account reported, or the post's author"`
	PostID     *store.ID `json:"post_id,omitempty"`
	Reason     string    `json:"reason"`
	Status     string    `json:"status" enum:"open,removed,dismissed"`
	CreatedAt  time.Time `json:"created_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// JobView is a background job that failed for good.
type JobView struct {
	ID        store.ID  `json:"id"`
	Kind      string    `json:"kind"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	CreatedAt time.Time `json:"created_at"`
}

// SettingsView is the instance's settings.
type SettingsView struct {
	Registration string `json:"registration" enum:"open,closed,invite"`
	MaxUploadMB  int    `json:"max_upload_mb" minimum:"0" maximum:"1024" doc:"Lowers the server's upload limit; 0 keeps it"`
}

type adminUsersInput struct {
	Q     string `query:"q" maxLength:"30" doc:"Usernames starting with this"`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type adminUsersOutput struct{ Body List[AdminUserView] }
type adminUserOutput struct{ Body AdminUserView }

type reportsInput struct {
	All bool `query:"all" doc:"Resolved reports too"`
}
type reportsOutput struct{ Body List[ReportView] }
type reportOutput struct{ Body ReportView }

type resolveInput struct {
	ID   string `path:"id" maxLength:"20"`
	Body struct {
		Action string `json:"action" enum:"remove,dismiss" doc:"remove deletes the post (or suspends the account); dismiss closes the report"`
	}
}

type jobsOutput struct{ Body List[JobView] }
type jobIDInput struct {
	ID string `path:"id" maxLength:"20"`
}

type settingsOutput struct{ Body SettingsView }
type settingsInput struct{ Body SettingsView }

type inviteOutput struct {
	Body struct {
		Code string `json:"code"`
	}
}
type invitesOutput struct{ Body List[string] }

type statsOutput struct {
	Body struct {
		Samples     []Sample `json:"samples" doc:"One a minute, oldest first, for up to 24 hours"`
		ActiveUsers int      `json:"active_users"`
	}
}

type reportInput struct {
	Body struct {
		PostID   *store.ID `json:"post_id,omitempty" doc:"The post reported"`
		Username string    `json:"username,omitempty" maxLength:"64" doc:"Or the account reported"`
		Reason   string    `json:"reason" minLength:"1" maxLength:"2000" doc:"What is wrong, up to 500 characters"`
	}
}

// requireAdmin returns the signed-in administrator, or a 403 (401 when
// signed out).
func (s *Server) requireAdmin(ctx context.Context) (*store.User, error) {
	c, ok := viewer(ctx)
	if !ok {
		return nil, store.Errorf(store.ErrUnauthorized, "Sign in first.")
	}
	u, err := s.st.User(c.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Admin {
		return nil, store.Errorf(store.ErrForbidden, "This is for the instance's administrators only.")
	}
	return u, nil
}

func (s *Server) registerAdmin(api huma.API) {
	tags := []string{"admin"}
	op := func(id, method, path, summary string, status int) huma.Operation {
		return s.op(huma.Operation{OperationID: id, Method: method, Path: path, Tags: tags, Summary: summary,
			Security: bearer, DefaultStatus: status, Errors: []int{400, 401, 403, 404, 409, 422}})
	}
	huma.Register(api, op("admin-users", "GET", "/api/v1/admin/users", "Accounts, newest first", 0), s.adminUsers)
	for _, suspend := range []bool{true, false} {
		verb := map[bool]string{true: "suspend", false: "unsuspend"}[suspend]
		huma.Register(api, op("admin-"+verb, "POST", "/api/v1/admin/users/{username}/"+verb, "Suspend an account, or lift it", 0),
			func(ctx context.Context, in *UserParam) (*adminUserOutput, error) {
				return s.adminSuspend(ctx, in, suspend)
			})
	}
	huma.Register(api, op("admin-delete-user", "DELETE", "/api/v1/admin/users/{username}", "Delete an account with all its content", http.StatusNoContent), s.adminDeleteUser)
	huma.Register(api, op("admin-reports", "GET", "/api/v1/admin/reports", "Reports, newest first; open ones unless all", 0), s.adminReports)
	huma.Register(api, op("admin-resolve-report", "POST", "/api/v1/admin/reports/{id}/resolve", "Remove the reported content, or dismiss the report", 0), s.adminResolve)
	huma.Register(api, op("admin-dead-jobs", "GET", "/api/v1/admin/jobs/dead", "Background jobs that failed for good", 0), s.adminDeadJobs)
	huma.Register(api, op("admin-retry-job", "POST", "/api/v1/admin/jobs/{id}/retry", "Put a failed job back in the queue", http.StatusNoContent), s.adminRetryJob)
	huma.Register(api, op("admin-discard-job", "DELETE", "/api/v1/admin/jobs/{id}", "Discard a failed job", http.StatusNoContent), s.adminDiscardJob)
	huma.Register(api, op("admin-settings", "GET", "/api/v1/admin/settings", "The instance settings", 0), s.adminSettings)
	huma.Register(api, op("admin-update-settings", "PUT", "/api/v1/admin/settings", "Change the instance settings", 0), s.adminUpdateSettings)
	huma.Register(api, op("admin-invites", "GET", "/api/v1/admin/invites", "Unspent invitation codes", 0), s.adminInvites)
	huma.Register(api, op("admin-create-invite", "POST", "/api/v1/admin/invites", "Make an invitation code for one sign-up", http.StatusCreated), s.adminCreateInvite)
	huma.Register(api, op("admin-stats", "GET", "/api/v1/admin/stats", "The last 24 hours, a minute at a time", 0), s.adminStats)
	huma.Register(api, s.op(huma.Operation{OperationID: "file-report", Method: "POST", Path: "/api/v1/reports", Tags: []string{"posts"},
		Summary: "Report a post or an account to the administrators", Security: bearer, DefaultStatus: http.StatusCreated,
		Errors: []int{401, 404, 422}}), s.fileReport)
}

// adminUsers answers GET /api/v1/admin/users and the admin users page.
func (s *Server) adminUsers(ctx context.Context, in *adminUsersInput) (*adminUsersOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	q := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(in.Q), "@"))
	var users []*store.User
	err := s.st.EachUser(func(u *store.User) error {
		if q == "" || strings.HasPrefix(u.Username, q) {
			users = append(users, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(users, func(a, b *store.User) int { return cmp.Compare(b.ID, a.ID) })
	out := &adminUsersOutput{Body: List[AdminUserView]{Items: []AdminUserView{}}}
	for _, u := range users[:min(limit, len(users))] {
		out.Body.Items = append(out.Body.Items, adminUserView(u))
	}
	return out, nil
}

func (s *Server) adminSuspend(ctx context.Context, in *UserParam, suspend bool) (*adminUserOutput, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.st.UserByUsername(in.Username)
	if err != nil {
		return nil, err
	}
	u, err = store.Exec(ctx, s.st, store.SetSuspended{Meta: store.At(now(ctx)), AdminID: admin.ID, UserID: u.ID, Suspended: suspend})
	if err != nil {
		return nil, err
	}
	s.wakeWorkers()
	return &adminUserOutput{Body: adminUserView(u)}, nil
}

func (s *Server) adminDeleteUser(ctx context.Context, in *UserParam) (*struct{}, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.st.UserByUsername(in.Username)
	if err != nil {
		return nil, err
	}
	if u.ID == admin.ID {
		return nil, store.Errorf(store.ErrConflict, "You cannot delete your own account from the admin pages.")
	}
	_, err = store.Exec(ctx, s.st, store.DeleteAccount{Meta: store.At(now(ctx)), ActorID: admin.ID, UserID: u.ID})
	s.wakeWorkers()
	return nil, err
}

func (s *Server) reportView(r *store.Report) ReportView {
	name := func(id store.ID) string {
		if u, err := s.st.User(id); err == nil {
			return u.Username
		}
		return "(gone)"
	}
	v := ReportView{ID: r.ID, Reporter: name(r.ReporterID), User: name(r.UserID), Reason: r.Reason, Status: r.Status,
		CreatedAt: r.CreatedAt, ResolvedAt: r.ResolvedAt}
	if r.PostID != 0 {
		id := r.PostID
		v.PostID = &id
	}
	return v
}

// adminReports answers GET /api/v1/admin/reports and the reports page.
func (s *Server) adminReports(ctx context.Context, in *reportsInput) (*reportsOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	rs, err := s.st.Reports(!in.All, 200)
	if err != nil {
		return nil, err
	}
	out := &reportsOutput{Body: List[ReportView]{Items: []ReportView{}}}
	for _, r := range rs {
		out.Body.Items = append(out.Body.Items, s.reportView(r))
	}
	return out, nil
}

func (s *Server) adminResolve(ctx context.Context, in *resolveInput) (*reportOutput, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("report", in.ID)
	if err != nil {
		return nil, err
	}
	r, err := store.Exec(ctx, s.st, store.ResolveReport{Meta: store.At(now(ctx)), AdminID: admin.ID, ReportID: id, Remove: in.Body.Action == "remove"})
	if err != nil {
		return nil, err
	}
	s.wakeWorkers()
	return &reportOutput{Body: s.reportView(r)}, nil
}

// adminDeadJobs answers GET /api/v1/admin/jobs/dead and the jobs page.
func (s *Server) adminDeadJobs(ctx context.Context, _ *struct{}) (*jobsOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	jobs, err := s.st.DeadJobs(200)
	if err != nil {
		return nil, err
	}
	out := &jobsOutput{Body: List[JobView]{Items: []JobView{}}}
	for _, j := range jobs {
		out.Body.Items = append(out.Body.Items, JobView{ID: j.ID, Kind: j.Kind, Attempts: j.Attempts, LastError: j.LastError, CreatedAt: j.CreatedAt})
	}
	return out, nil
}

func (s *Server) adminRetryJob(ctx context.Context, in *jobIDInput) (*struct{}, error) {
	err := s.deadJobCommand(ctx, in, func(m store.Meta, id store.ID) store.Command[struct{}] {
		return store.RetryDeadJob{Meta: m, JobID: id}
	})
	s.wakeWorkers()
	return nil, err
}

func (s *Server) adminDiscardJob(ctx context.Context, in *jobIDInput) (*struct{}, error) {
	return nil, s.deadJobCommand(ctx, in, func(m store.Meta, id store.ID) store.Command[struct{}] {
		return store.DiscardDeadJob{Meta: m, JobID: id}
	})
}

// deadJobCommand runs an administrator's command on a dead-letter job.
func (s *Server) deadJobCommand(ctx context.Context, in *jobIDInput, cmd func(store.Meta, store.ID) store.Command[struct{}]) error {
	if _, err := s.requireAdmin(ctx); err != nil {
		return err
	}
	id, err := parseID("job", in.ID)
	if err != nil {
		return err
	}
	_, err = store.Exec(ctx, s.st, cmd(store.At(now(ctx)), id))
	return err
}

// adminSettings answers GET /api/v1/admin/settings and the settings page.
func (s *Server) adminSettings(ctx context.Context, _ *struct{}) (*settingsOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	st, err := s.st.Settings()
	return &settingsOutput{Body: SettingsView{Registration: st.Registration, MaxUploadMB: st.MaxUploadMB}}, err
}

func (s *Server) adminUpdateSettings(ctx context.Context, in *settingsInput) (*settingsOutput, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.st.UpdateSettings(admin.ID, store.Settings{Registration: in.Body.Registration, MaxUploadMB: in.Body.MaxUploadMB})
	return &settingsOutput{Body: SettingsView{Registration: st.Registration, MaxUploadMB: st.MaxUploadMB}}, err
}

func (s *Server) adminInvites(ctx context.Context, _ *struct{}) (*invitesOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	codes, err := s.st.Invites()
	return &invitesOutput{Body: List[string]{Items: append([]string{}, codes...)}}, err
}

func (s *Server) adminCreateInvite(ctx context.Context, _ *struct{}) (*inviteOutput, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	var b [10]byte
	rand.Read(b[:])
	code := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	code, err = s.st.CreateInvite(admin.ID, code)
	out := &inviteOutput{}
	out.Body.Code = code
	return out, err
}

// adminStats answers GET /api/v1/admin/stats and feeds the charts.
func (s *Server) adminStats(ctx context.Context, _ *struct{}) (*statsOutput, error) {
	if _, err := s.requireAdmin(ctx); err != nil {
		return nil, err
	}
	out := &statsOutput{}
	out.Body.Samples, out.Body.ActiveUsers = s.stats.Samples(), s.stats.ActiveUsers()
	if out.Body.Samples == nil {
		out.Body.Samples = []Sample{}
	}
	return out, nil
}

// fileReport answers POST /api/v1/reports and the report forms.
func (s *Server) fileReport(ctx context.Context, in *reportInput) (*reportOutput, error) {
	c, _ := viewer(ctx)
	cmd := store.FileReport{Meta: store.At(now(ctx)), ReporterID: c.UserID, Reason: in.Body.Reason}
	switch {
	case in.Body.PostID != nil:
		cmd.PostID = *in.Body.PostID
	case in.Body.Username != "":
		u, err := s.st.UserByUsername(in.Body.Username)
		if err != nil {
			return nil, err
		}
		cmd.UserID = u.ID
	}
	r, err := store.Exec(ctx, s.st, cmd)
	if err != nil {
		return nil, err
	}
	return &reportOutput{Body: s.reportView(r)}, nil
}
