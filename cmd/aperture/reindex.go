package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aperture/search"
	"aperture/store"
)

// reindexCommand runs "aperture reindex": it throws the search index away
// and rebuilds it from the database, with a progress bar and a docs/s
// figure. The server must be stopped (it holds the database).
func reindexCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs, check := cfg.flagSet("aperture reindex", getenv, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	st, err := openStore(cfg.Data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	dir := filepath.Join(cfg.Data, "search")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	idx, err := search.Create(dir, st)
	if err != nil {
		return err
	}
	defer idx.Close()
	total, err := st.CountDocs()
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := idx.Rebuild(ctx, func(done int) {
		frac := float64(done) / float64(max(total, 1))
		bar := strings.Repeat("█", int(frac*30)) + strings.Repeat("░", 30-int(min(frac, 1)*30))
		fmt.Fprintf(stdout, "\r%s %d/%d docs, %.0f docs/s", bar, done, total, float64(done)/time.Since(start).Seconds())
	})
	fmt.Fprintln(stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "indexed %d documents in %.1fs (%.0f docs/s)\n", n, time.Since(start).Seconds(), float64(n)/time.Since(start).Seconds())
	return nil
}
