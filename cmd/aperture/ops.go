package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"aperture/media"
	"aperture/search"
	"aperture/store"
	"aperture/web"
)

// The running server answers backup and check requests on a Unix socket
// in its data directory (mode 0600: whoever may read the data may ask), so
// that `aperture backup` and `aperture check` work while it serves.

func controlSocket(data string) string { return filepath.Join(data, "control.sock") }

// startControl serves the control socket until Close.
func (m *Main) startControl() error {
	path := controlSocket(m.Config.Data)
	os.Remove(path) // a stale socket of a process that died
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-tar")
		start := time.Now()
		stats, err := writeBackup(w, m.st, m.Config.Data, start)
		if err != nil {
			m.log.Error("backup failed", "err", err)
			return // the client sees a cut-short archive without a manifest
		}
		m.log.Info("backup", "files", stats.Files, "photos", stats.Photos, "bytes", stats.Bytes, "took", time.Since(start).String())
	})
	mux.HandleFunc("GET /check", func(w http.ResponseWriter, r *http.Request) {
		rep, err := runCheck(r.Context(), m.st, m.blobs(), m.media.Collect, r.URL.Query().Get("repair") == "1", time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rep)
	})
	m.control = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.control.Serve(ln)
	return nil
}

func (m *Main) blobs() media.FileBlobs {
	return media.FileBlobs{Dir: filepath.Join(m.Config.Data, "media")}
}

// dialControl returns an HTTP client for a running server's control
// socket, or nil when no server answers there.
// flagSetT lets the subcommands add their own flags.
type flagSetT = flag.FlagSet

func dialControl(data string) *http.Client {
	path := controlSocket(data)
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil
	}
	conn.Close()
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

// opsFlags parses the common flags of backup, restore and check; a
// leading positional argument (restore's FILE) may come before them.
func opsFlags(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*Config, *flagSetT)) (Config, []string, error) {
	var cfg Config
	fs, check := cfg.flagSet(name, getenv, stderr)
	if extra != nil {
		extra(&cfg, fs)
	}
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	return cfg, append(pos, fs.Args()...), check()
}

// backupCommand runs "aperture backup --out FILE": from the running
// server through its control socket, or from the data directory when no
// server runs. The file appears only once complete.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var out string
	cfg, _, err := opsFlags("aperture backup", args, getenv, stderr, func(_ *Config, fs *flagSetT) {
		fs.StringVar(&out, "out", "", "the backup file to write (required)")
	})
	if err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("%w: name the backup file with --out", errUsage)
	}
	start := time.Now()
	stats, err := writeFileAtomically(out, func(w io.Writer) (backupStats, error) {
		if c := dialControl(cfg.Data); c != nil {
			return backupFromServer(ctx, c, w)
		}
		st, err := openStore(cfg.Data, store.Options{})
		if err != nil {
			return backupStats{}, err
		}
		defer st.Close()
		return writeBackup(w, st, cfg.Data, start)
	})
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "backed up %s (%d files, %d photos) to %s in %.1fs, %.0f MB/s\n",
		mb(stats.Bytes), stats.Files, stats.Photos, out, took.Seconds(), float64(stats.Bytes)/1e6/took.Seconds())
	return nil
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// backupFromServer streams the server's backup into w, verifying it on the
// way (a cut-short stream has no manifest and fails).
func backupFromServer(ctx context.Context, c *http.Client, w io.Writer) (backupStats, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://aperture/backup", nil)
	res, err := c.Do(req)
	if err != nil {
		return backupStats{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return backupStats{}, fmt.Errorf("the server refused the backup: %s", res.Status)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var stats backupStats
	go func() {
		var err error
		_, stats, err = extractBackup(pr, "") // verify only: hash, write nothing
		io.Copy(io.Discard, pr)
		done <- err
	}()
	_, err = io.Copy(io.MultiWriter(w, pw), res.Body)
	pw.CloseWithError(err)
	if verr := <-done; err == nil {
		err = verr
	}
	return stats, err
}

// writeFileAtomically writes path through a temp file, fsync and rename.
func writeFileAtomically[T any](path string, write func(io.Writer) (T, error)) (T, error) {
	var zero T
	tmp, err := os.CreateTemp(filepath.Dir(path), ".aperture-backup-*")
	if err != nil {
		return zero, err
	}
	defer os.Remove(tmp.Name())
	v, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return zero, err
	}
	return v, os.Rename(tmp.Name(), path)
}

// restoreCommand runs "aperture restore FILE --data DIR [--force]".
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var force bool
	cfg, pos, err := opsFlags("aperture restore", args, getenv, stderr, func(_ *Config, fs *flagSetT) {
		fs.BoolVar(&force, "force", false, "replace a non-empty data directory (its contents are kept beside it)")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: name one backup file: aperture restore FILE --data DIR", errUsage)
	}
	if dialControl(cfg.Data) != nil {
		return fmt.Errorf("an aperture server is running on %s; stop it before restoring into it", cfg.Data)
	}
	target := filepath.Clean(cfg.Data)
	if entries, err := os.ReadDir(target); err == nil && len(entries) > 0 && !force {
		return fmt.Errorf("the data directory %s is not empty; restore into an empty or new directory, or pass --force to replace it (its contents are then kept in %s.before-restore-…)", target, target)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	tmp := fmt.Sprintf("%s.restoring-%d", target, os.Getpid())
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	man, stats, err := extractBackup(f, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("nothing was restored: %w", err)
	}
	if entries, err := os.ReadDir(target); err == nil {
		if len(entries) > 0 {
			aside := fmt.Sprintf("%s.before-restore-%s", target, time.Now().UTC().Format("20060102T150405"))
			if err := os.Rename(target, aside); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "the old contents of %s are in %s\n", target, aside)
		} else if err := os.Remove(target); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s (%d files, %d photos) from a backup of %s, verified against its manifest\n",
		mb(stats.Bytes), stats.Files, stats.Photos, man.Created.Format(time.RFC3339))
	st, err := openStore(target, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	idx, err := search.Create(filepath.Join(target, "search"), st)
	if err != nil {
		return err
	}
	defer idx.Close()
	n, err := idx.Rebuild(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rebuilt the search index (%d documents); done in %.1fs\n", n, time.Since(start).Seconds())
	return nil
}

// errViolations makes check exit non-zero.
var errViolations = errors.New("the check found problems")

// checkCommand runs "aperture check [--repair]", through the running
// server when there is one.
func checkCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var repair bool
	cfg, _, err := opsFlags("aperture check", args, getenv, stderr, func(_ *Config, fs *flagSetT) {
		fs.BoolVar(&repair, "repair", false, "fix counters, stray feed entries and orphaned photo files")
	})
	if err != nil {
		return err
	}
	var rep *checkReport
	if c := dialControl(cfg.Data); c != nil {
		q := ""
		if repair {
			q = "?repair=1"
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://aperture/check"+q, nil)
		res, err := c.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			b, _ := io.ReadAll(res.Body)
			return fmt.Errorf("the server's check failed: %s", strings.TrimSpace(string(b)))
		}
		rep = new(checkReport)
		if err := json.NewDecoder(res.Body).Decode(rep); err != nil {
			return err
		}
	} else {
		st, err := openStore(cfg.Data, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		blobs := media.FileBlobs{Dir: filepath.Join(cfg.Data, "media")}
		collect := func(h string, unused func() (bool, error)) error {
			if ok, err := unused(); err != nil || !ok {
				return err
			}
			return blobs.Delete(h)
		}
		if rep, err = runCheck(ctx, st, blobs, collect, repair, time.Now()); err != nil {
			return err
		}
	}
	rep.print(stdout)
	if len(rep.Problems) > 0 {
		return fmt.Errorf("%w (%d)", errViolations, len(rep.Problems))
	}
	return nil
}

// pruneBackups keeps the newest keep files of dir named aperture-*.tar.
func pruneBackups(dir string, keep int) error {
	names, err := filepath.Glob(filepath.Join(dir, "aperture-*.tar"))
	if err != nil {
		return err
	}
	slices.Sort(names) // the names carry sortable UTC times
	for len(names) > keep {
		if err := os.Remove(names[0]); err != nil {
			return err
		}
		names = names[1:]
	}
	return nil
}

// scheduledBackups writes a backup into cfg.BackupDir every BackupEvery,
// keeping the newest BackupKeep.
func (m *Main) scheduledBackups(ctx context.Context) {
	t := time.NewTicker(m.Config.BackupEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			name := filepath.Join(m.Config.BackupDir, "aperture-"+now.UTC().Format("20060102T150405Z")+".tar")
			stats, err := writeFileAtomically(name, func(w io.Writer) (backupStats, error) {
				return writeBackup(w, m.st, m.Config.Data, now)
			})
			if err == nil {
				err = pruneBackups(m.Config.BackupDir, m.Config.BackupKeep)
			}
			if m.backups != nil {
				m.backups.done(now, err)
			}
			if err != nil {
				m.log.Error("scheduled backup failed", "err", err)
				continue
			}
			m.log.Info("scheduled backup", "file", name, "bytes", stats.Bytes, "took", time.Since(now).String())
		}
	}
}

// diskUsage measures the data directory's parts, walking the photo and
// index directories at most every five minutes.
type diskUsage struct {
	data string
	mu   sync.Mutex
	at   time.Time
	last web.DiskUsage
}

func (d *diskUsage) get() web.DiskUsage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Since(d.at) < 5*time.Minute {
		d.last.DB = dbSize(d.data)
		return d.last
	}
	size := func(dir string) int64 {
		var n int64
		filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
	d.last = web.DiskUsage{DB: dbSize(d.data), Index: size(filepath.Join(d.data, "search")), Media: size(filepath.Join(d.data, "media"))}
	d.at = time.Now()
	return d.last
}

// dbSize returns the bytes of every partition file in the data directory.
func dbSize(data string) int64 {
	var n int64
	for _, p := range store.DataFiles(data) {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}
