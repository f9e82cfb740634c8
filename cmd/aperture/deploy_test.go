package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"aperture/alerts"
)

// The files in deploy/ for Prometheus and Grafana name aperture's metrics;
// these tests hold them to what /metrics really exports.

var (
	deployDashboard = filepath.Join("..", "..", "deploy", "grafana", "aperture.json")
	deployRules     = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
)

// metricName matches the names of aperture's metrics (and the Go and
// process collectors') in a PromQL expression or a sentence.
var metricName = regexp.MustCompile(`\b(?:aperture|go|process)_[a-z0-9_]+\b`)

// quoted matches a PromQL string (a label value), which names no metric.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// metricsIn returns the metric names in a PromQL expression.
func metricsIn(expr string) []string {
	return metricName.FindAllString(quoted.ReplaceAllString(expr, `""`), -1)
}

// exported is the set of metric families a running server exports, with
// their types, and the cluster's, which a single server does not export.
type exported struct {
	families map[string]dto.MetricType
	cluster  map[string]bool // aperture_cluster_* names declared in the source
}

// has reports whether name is a series the server exports: a family, or
// a histogram's _bucket, _sum or _count (a summary's _sum or _count).
func (e *exported) has(name string) bool {
	if _, ok := e.families[name]; ok || e.cluster[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch typ, found := e.families[base]; {
		case !found:
		case typ == dto.MetricType_HISTOGRAM, typ == dto.MetricType_SUMMARY && suffix != "_bucket":
			return true
		}
	}
	return false
}

// scrapeMetrics runs the binary with scheduled backups (so that their
// metrics exist), makes the requests that create labelled series (an
// account, a failed log-in, a refused upload) and reads /metrics.
func scrapeMetrics(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	p := start(t, t.TempDir(), "--backup-dir", filepath.Join(t.TempDir(), "backups"))
	code, m := call(t, p, "POST", "/api/v1/auth/signup", "", map[string]string{"username": "grafana", "password": "correct horse battery"})
	if code != 201 {
		t.Fatalf("signup: %d %v", code, m)
	}
	token, _ := m["access_token"].(string)
	if code, m := call(t, p, "POST", "/api/v1/auth/login", "", map[string]string{"username": "grafana", "password": "wrong horse"}); code != 401 {
		t.Fatalf("log-in with a wrong password: %d %v", code, m)
	}
	if code, m := do(p.addr, "POST", "/api/v1/media", token, []byte("not a photo at all"), true); code != 415 {
		t.Fatalf("upload of text: %d %v", code, m)
	}
	if code, _ := call(t, p, "GET", "/api/v1/feed", token, nil); code != 200 {
		t.Fatalf("feed: %d", code)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %s", res.Status)
	}
	parser := expfmt.NewTextParser(pmodel.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	p.stop(t)
	out := make(map[string]dto.MetricType, len(fams))
	for name, f := range fams {
		out[name] = f.GetType()
	}
	return out
}

// clusterDescNames returns the aperture_cluster_* metric names that the
// source (outside tests) declares with prometheus.NewDesc or in a
// collector's Opts: a node of a cluster exports them, a single server
// does not.
func clusterDescNames(t *testing.T) map[string]bool {
	t.Helper()
	decl := regexp.MustCompile(`(?:NewDesc\(\s*|Name:\s*)"(aperture_cluster_[a-z0-9_]+)"`)
	names := map[string]bool{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !names["aperture_cluster_nodes_ready"] {
		t.Fatalf("found no cluster metrics declared in the source (looked for NewDesc(\"aperture_cluster_…\")): %v", names)
	}
	return names
}

// dashboard is what the test reads of a Grafana dashboard.
type dashboard struct {
	Inputs []struct {
		Name, Type, PluginID string
	} `json:"__inputs"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

// loadDashboard reads deploy/grafana/aperture.json and returns it with
// its panels (rows' included), failing if it does not load or misses what
// Grafana's import needs.
func loadDashboard(t *testing.T) (*dashboard, []panel) {
	t.Helper()
	b, err := os.ReadFile(deployDashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s does not load: %v", deployDashboard, err)
	}
	if d.Title == "" || d.SchemaVersion < 36 || len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" ||
		d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Fatalf("%s: want a title, schemaVersion 36 or later and one __inputs entry DS_PROMETHEUS (a prometheus datasource); got %q, %d, %+v",
			deployDashboard, d.Title, d.SchemaVersion, d.Inputs)
	}
	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	ids := map[int]bool{}
	for _, p := range all {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 || p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: want targets and the datasource ${DS_PROMETHEUS}", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q has a target without an expression", p.Title)
			}
		}
	}
	return &d, all
}

// alertRule is one alerting rule of deploy/prometheus/alerts.yml.
type alertRule struct {
	Name, Expr, For, KeepFiringFor, Severity string
}

// loadRules reads the alerting rules of deploy/prometheus/alerts.yml. The
// module has no YAML library of its own, and the file is written in a
// plain subset of YAML: "- alert:" starts a rule; a value is inline or a
// block (| or >-) of the lines indented deeper than its key.
func loadRules(t *testing.T) []alertRule {
	t.Helper()
	f, err := os.Open(deployRules)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []alertRule
	var cur *alertRule
	var block *string // the value a block is read into; nil to skip it
	inBlock, blockIndent := false, 0
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if inBlock {
			if trim == "" || indent(line) > blockIndent {
				if block != nil {
					*block += trim + "\n"
				}
				continue
			}
			inBlock = false
		}
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		key, value, _ := strings.Cut(strings.TrimPrefix(trim, "- "), ":")
		value = strings.TrimSpace(value)
		if strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">") {
			inBlock, blockIndent, block = true, indent(line), nil
			if key == "expr" && cur != nil {
				block = &cur.Expr
			}
			continue
		}
		switch {
		case key == "alert" || key == "record":
			rules = append(rules, alertRule{Name: value})
			cur = &rules[len(rules)-1]
		case cur == nil:
		case key == "expr":
			cur.Expr = value
		case key == "for":
			cur.For = value
		case key == "keep_firing_for":
			cur.KeepFiringFor = value
		case key == "severity":
			cur.Severity = value
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no rules found", deployRules)
	}
	for _, r := range rules {
		if strings.TrimSpace(r.Expr) == "" {
			t.Fatalf("%s: rule %s has no expr (or the test could not read it)", deployRules, r.Name)
		}
	}
	return rules
}

// TestDeployMetricNames: every metric the Grafana dashboard and the
// Prometheus rules name is one that /metrics exports (a cluster's, one
// that the source declares for a node of a cluster); and every chart of
// the admin dashboard has its panel.
func TestDeployMetricNames(t *testing.T) {
	e := &exported{families: scrapeMetrics(t), cluster: clusterDescNames(t)}
	missing := map[string][]string{} // metric → where it is named
	check := func(where, text string) {
		for _, name := range metricsIn(text) {
			if !e.has(name) {
				missing[name] = append(missing[name], where)
			}
		}
	}

	d, panels := loadDashboard(t)
	exprs := 0
	for _, p := range panels {
		check(fmt.Sprintf("dashboard panel %q (description)", p.Title), p.Description)
		for _, tg := range p.Targets {
			check(fmt.Sprintf("dashboard panel %q", p.Title), tg.Expr)
			exprs++
		}
	}
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		check(fmt.Sprintf("dashboard variable %q", v.Name), v.Definition+" "+q)
	}
	rules := loadRules(t)
	for _, r := range rules {
		check("rule "+r.Name, r.Expr)
	}
	// The rules' descriptions name metrics too (what to look at).
	b, err := os.ReadFile(deployRules)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			check(fmt.Sprintf("alerts.yml line %d", i+1), line)
		}
	}
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t.Errorf("%s is not exported by /metrics; named by %s", n, strings.Join(dedupe(missing[n]), ", "))
		}
	}
	t.Logf("%d panels with %d expressions, %d rules; /metrics exports %d families, the cluster collector %d more",
		len(panels), exprs, len(rules), len(e.families), len(e.cluster))

	// Each chart of the admin dashboard (web/charts.go) has a panel of the
	// same title that draws its series.
	series := map[string]func(expr string) bool{
		"Requests": func(x string) bool {
			return strings.Contains(x, "rate(aperture_http_requests_total") && !strings.Contains(x, "status")
		},
		"p99 latency": func(x string) bool {
			return strings.Contains(x, "histogram_quantile(0.99") && strings.Contains(x, "aperture_http_request_duration_seconds_bucket")
		},
		"Errors (5xx)": func(x string) bool {
			return strings.Contains(x, "aperture_http_requests_total") && strings.Contains(x, `status=~"5.."`)
		},
		"Sign-ups":         func(x string) bool { return strings.Contains(x, "aperture_signups_total") },
		"Posts":            func(x string) bool { return strings.Contains(x, "aperture_posts_total") },
		"Background queue": func(x string) bool { return strings.Contains(x, "aperture_outbox_depth") },
		"Database": func(x string) bool {
			return strings.Contains(x, "aperture_disk_bytes") && strings.Contains(x, `kind="db"`)
		},
		"Search index": func(x string) bool {
			return strings.Contains(x, "aperture_disk_bytes") && strings.Contains(x, `kind="index"`)
		},
		"Photos": func(x string) bool {
			return strings.Contains(x, "aperture_disk_bytes") && strings.Contains(x, `kind="media"`)
		},
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "web", "charts.go"))
	if err != nil {
		t.Fatal(err)
	}
	charts := regexp.MustCompile(`\bchart\("([^"]+)"`).FindAllSubmatch(src, -1)
	if len(charts) < 9 {
		t.Fatalf("found %d charts in web/charts.go; want the admin dashboard's nine or more", len(charts))
	}
	// Beyond the admin charts: the rules' measurements.
	titles := []string{"Oldest job", "Dead letters", "Data volume free", "Memory", "Search lag", "Upload rejections", "Alerts firing"}
	series["Oldest job"] = func(x string) bool { return strings.Contains(x, "aperture_outbox_oldest_seconds") }
	series["Dead letters"] = func(x string) bool { return strings.Contains(x, "aperture_outbox_dead_letters") }
	series["Data volume free"] = func(x string) bool {
		return strings.Contains(x, "aperture_data_volume_free_bytes") && strings.Contains(x, "aperture_data_volume_size_bytes")
	}
	series["Memory"] = func(x string) bool {
		return strings.Contains(x, "aperture_memory_used_bytes") || strings.Contains(x, "aperture_memory_limit_bytes")
	}
	series["Search lag"] = func(x string) bool { return strings.Contains(x, "aperture_search_lag_seconds") }
	series["Upload rejections"] = func(x string) bool {
		return strings.Contains(x, "aperture_media_rejections_total") && strings.Contains(x, "reason")
	}
	series["Alerts firing"] = func(x string) bool { return strings.Contains(x, "aperture_alerts_firing") }
	for _, c := range charts {
		titles = append(titles, string(c[1]))
	}
	for _, title := range titles {
		want, ok := series[title]
		if !ok {
			t.Errorf("the admin dashboard has a chart %q this test does not know: add its panel to %s and its series here", title, deployDashboard)
			continue
		}
		found := false
		for _, p := range panels {
			for _, tg := range p.Targets {
				found = found || p.Title == title && want(tg.Expr)
			}
		}
		if !found {
			t.Errorf("%s has no panel %q drawing its series", deployDashboard, title)
		}
	}
}

// TestDeployRulesMatchBuiltIn: alerts.yml has, for each built-in alert
// rule, an alert named Aperture and the rule's name in CamelCase, with its
// severity, its for, keep_firing_for of that (at least a minute, as the
// built-in rule waits before it resolves), and its threshold and clear
// level in the expression; and no alert without a built-in rule but
// ApertureDown.
func TestDeployRulesMatchBuiltIn(t *testing.T) {
	const every = 1234 * time.Second // the backups' interval, found in backup-stale's threshold
	builtin := alerts.Rules(alerts.Sources{
		Disk:           func() (uint64, uint64, error) { return 0, 0, nil },
		Requests:       func() (uint64, uint64) { return 0, 0 },
		Pages:          &alerts.Histogram{},
		Outbox:         func() (int, time.Time, int, error) { return 0, time.Time{}, 0, nil },
		UploadFailures: func() uint64 { return 0 },
		Backups:        func() alerts.BackupStatus { return alerts.BackupStatus{Every: every} },
		SearchLag:      func() (time.Duration, error) { return 0, nil },
		Memory:         func() (uint64, uint64, error) { return 0, 0, nil },
		Cluster:        func(context.Context) (alerts.ClusterHealth, error) { return alerts.ClusterHealth{}, nil },
	})
	byName := map[string]alertRule{}
	for _, r := range loadRules(t) {
		byName[r.Name] = r
	}
	want := map[string]bool{"ApertureDown": true}
	for _, b := range builtin {
		name := "Aperture"
		for _, word := range strings.Split(b.Name, "-") {
			name += strings.ToUpper(word[:1]) + word[1:]
		}
		want[name] = true
		r, ok := byName[name]
		if !ok {
			t.Errorf("the built-in rule %s has no alert %s in %s", b.Name, name, deployRules)
			continue
		}
		if r.Severity != string(b.Severity) {
			t.Errorf("%s: severity %q; the built-in rule %s is %q", name, r.Severity, b.Name, b.Severity)
		}
		for _, c := range []struct {
			key, value string
			want       time.Duration
		}{{"for", r.For, b.For}, {"keep_firing_for", r.KeepFiringFor, max(b.For, time.Minute)}} {
			d, err := pmodel.ParseDuration(c.value)
			if err != nil || time.Duration(d) != c.want {
				t.Errorf("%s: %s: %q; want %v (the built-in rule %s's)", name, c.key, c.value, c.want, b.Name)
			}
		}
		op := ">"
		if b.Below {
			op = "<"
		}
		levels := []float64{b.Threshold}
		if b.Clear != b.Threshold {
			levels = append(levels, b.Clear)
		}
		for _, v := range levels {
			if v == 2*every.Seconds() {
				if !strings.Contains(r.Expr, op+" 2 * aperture_backup_interval_seconds") {
					t.Errorf("%s: want %s 2 * aperture_backup_interval_seconds in %q", name, op, r.Expr)
				}
				continue
			}
			level := op + " " + strconv.FormatFloat(v, 'f', -1, 64)
			if !regexp.MustCompile(regexp.QuoteMeta(level) + `(?:[^0-9.]|$)`).MatchString(r.Expr) {
				t.Errorf("%s: the built-in rule %s fires or clears at %s; that is not in its expression:\n%s", name, b.Name, level, r.Expr)
			}
		}
	}
	for name := range byName {
		if !want[name] {
			t.Errorf("%s: %s has no built-in rule", deployRules, name)
		}
	}
	if len(builtin) < 15 {
		t.Errorf("%d built-in rules; want the 15 this was written for or more", len(builtin))
	}
}

// TestDeployDashboardPromQL: the dashboard's expressions are PromQL that
// promtool accepts (with Grafana's variables filled in). promtool comes
// with Debian's prometheus package, which .ci/run installs.
func TestDeployDashboardPromQL(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: install Debian's prometheus package (apt-get install prometheus), which ships it; make test and CI need it")
	}
	_, panels := loadDashboard(t)
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$instance", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range panels {
		for _, tg := range p.Targets {
			n++
			expr, _ := json.Marshal(vars.Replace(tg.Expr)) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: panel_%d_%d\n        expr: %s\n", p.ID, n, expr)
		}
	}
	file := filepath.Join(t.TempDir(), "dashboard.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules on the dashboard's expressions: %v\n%s\n%s", err, out, rules.String())
	}
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
