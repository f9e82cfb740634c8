package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"aperture/store"
	"aperture/transfer"
)

// Imports arrive in pieces: the browser asks for an upload, sends the
// archive in chunks (each under the request size limit, each appended to
// a file in the imports folder at the offset it names, so an interrupted
// upload resumes where it stopped), then finishes it. Finishing checks
// the archive and starts the import in the background.

const (
	importChunk   = 8 << 20  // bytes of one chunk at most
	maxArchive    = 16 << 30 // bytes of one archive at most
	staleUploadIn = 24 * time.Hour
	maxUploads    = 2 // unfinished uploads an account may have at once
)

// ImportView is an import into your account and how far it has come.
type ImportView struct {
	ID        store.ID       `json:"id"`
	Source    string         `json:"source" enum:"instagram,aperture"`
	State     string         `json:"state" enum:"queued,running,done,failed"`
	Total     int            `json:"total" doc:"Posts in the archive (0 until it has been read)"`
	Done      int            `json:"done" doc:"Posts gone through so far"`
	Posts     int            `json:"posts" doc:"Posts made"`
	Photos    int            `json:"photos"`
	Skipped   map[string]int `json:"skipped" doc:"What was left out, by reason"`
	Suggested []string       `json:"suggested" doc:"Accounts here that the archive followed: suggestions, never follows"`
	Error     string         `json:"error,omitempty" doc:"Why a failed import stopped"`
	Username  string         `json:"username,omitempty" doc:"In the administrators' list: whose import it is"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func importView(r *store.ImportRun) ImportView {
	v := ImportView{ID: r.ID, Source: r.Source, State: r.State, Total: r.Total, Done: r.Next, Posts: r.Posts, Photos: r.Photos,
		Skipped: r.Skipped, Suggested: r.Suggested, Error: r.Error, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if v.Skipped == nil {
		v.Skipped = map[string]int{}
	}
	v.Suggested = append([]string{}, v.Suggested...)
	return v
}

type newUploadInput struct {
	Body struct {
		Size int64 `json:"size" minimum:"22" doc:"The archive's size in bytes (up to 16 GiB)"`
	}
}

// UploadView is an archive being uploaded.
type UploadView struct {
	ID       string `json:"id"`
	Received int64  `json:"received" doc:"Bytes received so far: send the next chunk at this offset"`
	Size     int64  `json:"size"`
	Chunk    int    `json:"chunk" doc:"The most bytes one chunk may carry"`
}

type uploadOutput struct{ Body UploadView }

type chunkInput struct {
	ID      string `path:"id" maxLength:"40"`
	Offset  int64  `query:"offset" minimum:"0"`
	RawBody []byte `contentType:"application/octet-stream" maxLength:"8388608"`
}

type uploadIDInput struct {
	ID string `path:"id" maxLength:"40"`
}

type importOutput struct{ Body ImportView }
type importsOutput struct{ Body List[ImportView] }

func (s *Server) registerImports(api huma.API) {
	tags := []string{"imports"}
	huma.Register(api, s.op(huma.Operation{OperationID: "start-upload", Method: http.MethodPost, Path: "/api/v1/me/imports/uploads", Tags: tags,
		Summary:     "Begin uploading an archive to import: an Instagram download (JSON format) or an aperture export",
		Description: "Send the archive in chunks of at most `chunk` bytes with PUT …/uploads/{id}?offset=N, then POST …/uploads/{id}/finish. An interrupted upload resumes at `received`.",
		Security:    bearer, DefaultStatus: http.StatusCreated, Errors: []int{401, 413, 422, 503}}), s.startUpload)
	huma.Register(api, s.op(huma.Operation{OperationID: "upload-chunk", Method: http.MethodPut, Path: "/api/v1/me/imports/uploads/{id}", Tags: tags,
		Summary: "Send the next chunk of an archive, at the offset already received", Security: bearer,
		MaxBodyBytes: importChunk + 1<<10, Errors: []int{401, 404, 409, 413, 422}}), s.uploadChunk)
	huma.Register(api, s.op(huma.Operation{OperationID: "get-upload", Method: http.MethodGet, Path: "/api/v1/me/imports/uploads/{id}", Tags: tags,
		Summary: "How much of an archive has arrived: the offset of the next chunk", Security: bearer, Errors: []int{401, 404}}),
		func(ctx context.Context, in *uploadIDInput) (*uploadOutput, error) {
			_, received, size, err := s.myUpload(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &uploadOutput{Body: UploadView{ID: in.ID, Received: received, Size: size, Chunk: importChunk}}, nil
		})
	huma.Register(api, s.op(huma.Operation{OperationID: "finish-upload", Method: http.MethodPost, Path: "/api/v1/me/imports/uploads/{id}/finish", Tags: tags,
		Summary:     "Check the uploaded archive and start importing it in the background",
		Description: "Posts keep their dates and are never pushed into followers' feeds; importing the same archive again creates nothing twice. One import at a time per account.",
		Security:    bearer, DefaultStatus: http.StatusAccepted, Errors: []int{401, 404, 409, 422, 503}}), s.finishUpload)
	huma.Register(api, s.op(huma.Operation{OperationID: "list-imports", Method: http.MethodGet, Path: "/api/v1/me/imports", Tags: tags,
		Summary: "Your imports, newest first, with their progress", Security: bearer, Errors: []int{401}}),
		func(ctx context.Context, _ *struct{}) (*importsOutput, error) {
			c, _ := viewer(ctx)
			return s.listImports(c.UserID)
		})
	huma.Register(api, s.op(huma.Operation{OperationID: "admin-imports", Method: http.MethodGet, Path: "/api/v1/admin/imports", Tags: []string{"admin"},
		Summary: "Imports in progress on the instance", Security: bearer, Errors: []int{401, 403}}),
		func(ctx context.Context, _ *struct{}) (*importsOutput, error) {
			if _, err := s.requireAdmin(ctx); err != nil {
				return nil, err
			}
			return s.activeImports(ctx)
		})
}

// uploadFile names an upload's file: the account's ID, then the upload's.
func (s *Server) uploadFile(user store.ID, id string) (string, error) {
	if s.imports == "" {
		return "", store.Errorf(store.ErrUnavailable, "Imports are not available on this server (a cluster cannot import yet).")
	}
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", store.Errorf(store.ErrNotFound, "There is no such upload.")
	}
	return filepath.Join(s.imports, fmt.Sprintf("%s-%s.part", user, id)), nil
}

func (s *Server) startUpload(ctx context.Context, in *newUploadInput) (*uploadOutput, error) {
	c, _ := viewer(ctx)
	if _, err := s.uploadFile(c.UserID, strings.Repeat("0", 32)); err != nil {
		return nil, err
	}
	if in.Body.Size > maxArchive {
		return nil, store.Errorf(store.ErrTooLarge, "The archive is %.1f GiB; aperture imports archives of up to %d GiB.", float64(in.Body.Size)/(1<<30), maxArchive>>30)
	}
	if err := os.MkdirAll(s.imports, 0o700); err != nil {
		return nil, err
	}
	if s.sweepUploads(c.UserID) >= maxUploads {
		return nil, store.Errorf(store.ErrConflict, "You have %d archives half uploaded; finish one, or wait a day for them to be cleared.", maxUploads)
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	name, _ := s.uploadFile(c.UserID, id)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	// The declared size travels in a small file beside the upload.
	if err := os.WriteFile(name+".size", []byte(fmt.Sprint(in.Body.Size)), 0o600); err != nil {
		return nil, err
	}
	return &uploadOutput{Body: UploadView{ID: id, Size: in.Body.Size, Chunk: importChunk}}, nil
}

// sweepUploads removes the account's uploads left unfinished for a day,
// and returns how many others it has under way.
func (s *Server) sweepUploads(user store.ID) int {
	matches, _ := filepath.Glob(filepath.Join(s.imports, fmt.Sprintf("%s-*.part", user)))
	n := 0
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && time.Since(fi.ModTime()) > staleUploadIn {
			os.Remove(m)
			os.Remove(m + ".size")
		} else {
			n++
		}
	}
	return n
}

func (s *Server) uploadState(name string) (received, size int64, err error) {
	fi, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, store.Errorf(store.ErrNotFound, "There is no such upload; start it again.")
	}
	if err != nil {
		return 0, 0, err
	}
	b, err := os.ReadFile(name + ".size")
	if err != nil {
		return 0, 0, store.Errorf(store.ErrNotFound, "There is no such upload; start it again.")
	}
	_, err = fmt.Sscan(string(b), &size)
	return fi.Size(), size, err
}

// myUpload finds the signed-in account's upload id: its file, the bytes
// received and the size it was started with.
func (s *Server) myUpload(ctx context.Context, id string) (name string, received, size int64, err error) {
	c, _ := viewer(ctx)
	if name, err = s.uploadFile(c.UserID, id); err != nil {
		return "", 0, 0, err
	}
	received, size, err = s.uploadState(name)
	return name, received, size, err
}

// uploadLocks serialises the chunks of one upload: two sent at the same
// offset at once must not both be appended.
var uploadLocks sync.Map // file name → *sync.Mutex

func (s *Server) uploadChunk(ctx context.Context, in *chunkInput) (*uploadOutput, error) {
	c, _ := viewer(ctx)
	name, err := s.uploadFile(c.UserID, in.ID)
	if err != nil {
		return nil, err
	}
	mu, _ := uploadLocks.LoadOrStore(name, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	received, size, err := s.uploadState(name)
	if err != nil {
		return nil, err
	}
	switch {
	case in.Offset != received:
		return nil, store.Errorf(store.ErrConflict, "The upload has %d bytes; send the chunk that starts there.", received)
	case received+int64(len(in.RawBody)) > size:
		return nil, store.Errorf(store.ErrTooLarge, "The chunk goes past the %d bytes the upload was started with.", size)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(in.RawBody); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &uploadOutput{Body: UploadView{ID: in.ID, Received: received + int64(len(in.RawBody)), Size: size, Chunk: importChunk}}, nil
}

func (s *Server) finishUpload(ctx context.Context, in *uploadIDInput) (*importOutput, error) {
	c, _ := viewer(ctx)
	name, received, size, err := s.myUpload(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	defer uploadLocks.Delete(name)
	if received != size {
		return nil, store.Errorf(store.ErrConflict, "The upload has %d of its %d bytes; send the rest first.", received, size)
	}
	archive := strings.TrimSuffix(name, ".part") + ".zip"
	os.Remove(name + ".size")
	if err := os.Rename(name, archive); err != nil {
		return nil, err
	}
	run, err := s.startImport(ctx, c.UserID, archive)
	if err != nil {
		os.Remove(archive)
		return nil, err
	}
	if s.wake != nil {
		s.wake()
	}
	return &importOutput{Body: importView(run)}, nil
}

// startImport checks that the archive is one aperture reads, and of
// which kind, then starts importing it.
func (s *Server) startImport(ctx context.Context, user store.ID, archive string) (*store.ImportRun, error) {
	a, err := transfer.Open(archive)
	if err != nil {
		return nil, err
	}
	acc, err := transfer.Parse(a)
	a.Close()
	if err != nil {
		return nil, err
	}
	return store.Exec(ctx, s.st, store.StartImport{Meta: store.At(now(ctx)), UserID: user, Source: acc.Source, File: filepath.Base(archive)})
}

func (s *Server) listImports(user store.ID) (*importsOutput, error) {
	runs, err := s.st.ImportRuns(user, 10)
	if err != nil {
		return nil, err
	}
	out := &importsOutput{Body: List[ImportView]{Items: []ImportView{}}}
	for _, r := range runs {
		v := importView(r)
		// Only accounts that are here now: one suspended since is not.
		v.Suggested = slices.DeleteFunc(v.Suggested, func(name string) bool {
			u, err := s.st.UserByUsername(name)
			return err != nil || u.Suspended
		})
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}

func (s *Server) activeImports(ctx context.Context) (*importsOutput, error) {
	runs, err := s.st.ActiveImports(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].CreatedAt.Before(runs[j].CreatedAt) })
	out := &importsOutput{Body: List[ImportView]{Items: []ImportView{}}}
	for _, r := range runs {
		v := importView(r)
		if u, err := s.st.User(r.UserID); err == nil {
			v.Username = u.Username
		}
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}

// importedFollows returns the accounts here that the user's imports found
// in the archive's following list and that the user does not follow (or
// ask to follow) yet, with their reason, at most limit.
func (s *Server) importedFollows(ctx context.Context, user store.ID, limit int) ([]SuggestionView, error) {
	runs, err := s.st.ImportRuns(user, 3)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var users []*store.User
	for _, r := range runs {
		for _, name := range r.Suggested {
			if seen[name] || len(users) >= limit {
				continue
			}
			seen[name] = true
			u, err := s.st.UserByUsername(name)
			if err != nil || u.ID == user || u.Suspended {
				continue
			}
			rel, err := s.st.Relationship(user, u.ID)
			if err != nil || rel.Following || rel.Requested || rel.Blocking || rel.BlockedBy {
				continue
			}
			users = append(users, u)
		}
	}
	views, err := s.renderUsers(users, now(ctx))
	if err != nil {
		return nil, err
	}
	out := make([]SuggestionView, len(views))
	for i, v := range views {
		out[i] = SuggestionView{AuthorView: v, Reason: "You followed them before"}
	}
	return out, nil
}
