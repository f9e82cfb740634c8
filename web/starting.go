package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// startingRetry is the Retry-After, in seconds, of what Starting answers.
const startingRetry = 5

// Starting returns the handler that answers on the server's address
// while the server is still starting (opening storage, rebuilding a
// search index, or in a cluster catching up with the partitions' logs):
// /healthz says the process is alive and starting; every other request
// gets 503 with Retry-After, as problem+json, or for a browser a page
// that reloads itself. Nothing is read or written.
func Starting(version, reason string) http.Handler {
	detail := "aperture is starting (" + reason + "); try again in a moment."
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/healthz" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"status": "starting", "version": version, "detail": detail})
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(startingRetry))
		if strings.Contains(r.Header.Get("Accept"), "text/html") && !strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			startingPage.Execute(w, detail)
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(&Problem{Type: problemType(http.StatusServiceUnavailable),
			Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable, Detail: detail})
	})
}

var startingPage = template.Must(template.New("starting").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5"><title>aperture is starting</title>
<style>body{font:16px/1.5 system-ui,sans-serif;color:#262626;background:#fafafa;display:grid;place-items:center;min-height:90vh;margin:0}
main{max-width:28rem;padding:2rem;text-align:center}h1{font-size:1.25rem;font-weight:600}</style></head>
<body><main><h1>Starting up</h1><p>{{.}}</p><p>This page reloads by itself.</p></main></body></html>
`))
