package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEdgeFlags: --trusted-proxies takes addresses and CIDR ranges from
// flags, the environment and the config file, and refuses anything else;
// --proxy-header is X-Forwarded-For or Forwarded.
func TestEdgeFlags(t *testing.T) {
	parse := func(args []string, env map[string]string) (Config, error) {
		m := NewMain(io.Discard, io.Discard)
		err := m.ParseFlags(args, func(k string) string { return env[k] })
		return m.Config, err
	}
	good := []struct {
		name string
		args []string
		env  map[string]string
		want int // prefixes
	}{
		{"none", nil, nil, 0},
		{"one address", []string{"--trusted-proxies", "127.0.0.1"}, nil, 1},
		{"addresses and ranges", []string{"--trusted-proxies", "10.0.0.0/8, 192.168.1.7,::1, 2001:db8::/32"}, nil, 4},
		{"from the environment", nil, map[string]string{"APERTURE_TRUSTED_PROXIES": "172.16.0.0/12"}, 1},
		{"Forwarded", []string{"--proxy-header", "Forwarded"}, nil, 0},
		{"header in lower case", nil, map[string]string{"APERTURE_PROXY_HEADER": "x-forwarded-for"}, 0},
		{"metrics settings", []string{"--metrics-addr", "127.0.0.1:9100", "--metrics-token", "abc"}, nil, 0},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			ps, err := parseTrustedProxies(c.TrustedProxies)
			if err != nil || len(ps) != tc.want {
				t.Fatalf("%q: %v %v", c.TrustedProxies, ps, err)
			}
		})
	}
	bad := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"a prefix too long", []string{"--trusted-proxies", "10.0.0.0/33"}, nil},
		{"a host name", []string{"--trusted-proxies", "proxy.example"}, nil},
		{"a zone", []string{"--trusted-proxies", "fe80::1%eth0"}, nil},
		{"a port", []string{"--trusted-proxies", "10.0.0.1:443"}, nil},
		{"a bad one among good ones", nil, map[string]string{"APERTURE_TRUSTED_PROXIES": "10.0.0.1, nonsense"}},
		{"another header", []string{"--proxy-header", "X-Real-IP"}, nil},
		{"an empty header", []string{"--proxy-header", ""}, nil},
	}
	for _, tc := range bad {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			if c, err := parse(tc.args, tc.env); err == nil {
				t.Fatalf("accepted %+v", c)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "aperture.toml")
	os.WriteFile(file, []byte("trusted-proxies = \"10.0.0.0/8\"\nproxy-header = \"Forwarded\"\nmetrics-addr = \"127.0.0.1:9100\"\n"), 0o600)
	args := []string{"--config", file}
	layered, err := withConfigFile(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(args, layered); err != nil || m.Config.TrustedProxies != "10.0.0.0/8" || m.Config.ProxyHeader != "Forwarded" ||
		m.Config.MetricsAddr != "127.0.0.1:9100" {
		t.Fatalf("config file: %+v %v", m.Config, err)
	}
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url, auth string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetricsAddrAndTrustedProxies runs the binary with the metrics on
// their own address behind a token, and a trusted proxy: the main
// address no longer serves /metrics, the metrics address needs the
// token, and a request through the proxy is logged with its client's
// address.
func TestMetricsAddrAndTrustedProxies(t *testing.T) {
	maddr := freeAddr(t)
	const token = "e2e-metrics-token-0123"
	p := start(t, t.TempDir(), "--metrics-addr", maddr, "--metrics-token", token, "--trusted-proxies", "127.0.0.1, ::1")
	if code, _ := get(t, "http://"+p.addr+"/metrics", "Bearer "+token); code != 404 {
		t.Fatalf("main address /metrics: %d, want 404", code)
	}
	if code, _ := get(t, "http://"+maddr+"/metrics", ""); code != 401 {
		t.Fatalf("metrics without the token: %d, want 401", code)
	}
	if code, _ := get(t, "http://"+maddr+"/metrics", "Bearer wrong"); code != 401 {
		t.Fatalf("metrics with a wrong token: %d, want 401", code)
	}
	if code, body := get(t, "http://"+maddr+"/metrics", "Bearer "+token); code != 200 || !strings.Contains(body, "aperture_http_requests_total") {
		t.Fatalf("metrics with the token: %d %.200s", code, body)
	}
	if code, _ := get(t, "http://"+p.addr+"/healthz", "", "X-Forwarded-For", "198.51.100.1, 203.0.113.9", "X-Request-ID", "e2e-proxied"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	p.stop(t)
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var line struct {
			IP        string `json:"ip"`
			Peer      string `json:"peer"`
			RequestID string `json:"request_id"`
		}
		json.Unmarshal(sc.Bytes(), &line)
		if line.RequestID == "e2e-proxied" {
			if line.IP != "203.0.113.9" || line.Peer != "127.0.0.1" {
				t.Fatalf("logged ip %q peer %q", line.IP, line.Peer)
			}
			return
		}
	}
	t.Fatalf("no log line for the proxied request:\n%s", p.stderr)
}

func TestMetricsBindErrorAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, err := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", ln.Addr().String(), "--data", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot listen on "+ln.Addr().String()+" for metrics") {
		t.Fatalf("bind error not reported: %v\n%s", err, out)
	}
}
