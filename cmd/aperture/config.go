package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"aperture/alerts"
	"aperture/media"
	"aperture/web"
)

// Config is everything the server is started with. Each field has a flag
// and an APERTURE_* environment variable; the flag wins.
type Config struct {
	Addr            string
	Data            string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	AuthPerIP       int
	AuthPerUser     int
	MaxBodyMB       int
	MaxUploadMB     int
	MaxMegapixels   int
	Decoders        int
	DecodeMemoryMB  int
	FanoutBatch     int
	CelebrityAt     int
	Partitions      int
	Cluster         ClusterConfig
	HTTPS           bool
	MapTiles        string
	MapAttribution  string
	BackupDir       string
	BackupEvery     time.Duration
	BackupKeep      int
	Limits          web.Limits
	TLSCert         string
	TLSKey          string
	Warm            bool
	QuotaMB         int
	WebhookAllow    string
	PublicURL       string
	PushContact     string
	SentryDSN       string
	Environment     string
	TrustedProxies  string
	ProxyHeader     string
	MetricsToken    string
	MetricsAddr     string
	Alerts          alertConfig
}

// alertConfig holds the alert settings (see alerting.go).
type alertConfig struct {
	On            bool
	Thresholds    string
	Webhook       string
	WebhookFormat string
	WebhookKey    string
	SMTPURL       string
	Email         string
	From          string
	Every         time.Duration
}

// flagSet binds cfg's fields to the flags of the command name ("aperture
// serve", "aperture backup", "aperture cluster init"): only the settings
// that command reads (see commands), each defaulting to its APERTURE_*
// variable where that is set. It returns the set and a check to call after
// Parse that reports malformed environment values and settings that cannot
// work together. -h prints the command's help to out; other parse errors
// are only returned, for run to report once.
func (cfg *Config) flagSet(name string, getenv func(string) string, out io.Writer) (*flag.FlagSet, func() error) {
	c := lookupCommand(name)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	rec := &flagOutput{}
	fs.SetOutput(rec)
	fs.Usage = func() {
		if !rec.wrote { // -h, not an error (the flag package writes those first)
			c.help(out, fs)
		}
	}
	use := func(setting string) bool { return c.settings == nil || slices.Contains(c.settings, setting) }
	bad := cfg.bind(fs, use, c.usage, getenv, func(env, v string) string { return fmt.Sprintf("$%s=%q", env, v) })
	check := func() error {
		if len(bad) > 0 {
			return fmt.Errorf("%s", strings.Join(bad, "; "))
		}
		return cfg.Cluster.check()
	}
	return fs, check
}

// flagOutput is a flag set's output: it notes that the flag package wrote
// an error, and drops it (run reports the error).
type flagOutput struct{ wrote bool }

func (o *flagOutput) Write(p []byte) (int, error) {
	o.wrote = true
	return len(p), nil
}

// bind registers on fs the settings for which use is true, with the
// usage text usage[name] gives in place of the general one, taking
// defaults from getenv. It returns a sentence for each malformed value
// getenv gave, naming it with from(variable, value).
func (cfg *Config) bind(fs *flag.FlagSet, use func(string) bool, usage map[string]string, getenv func(string) string, from func(env, v string) string) []string {
	var bad []string
	describe := func(flagName, text, env string) string {
		if u, ok := usage[flagName]; ok {
			text = u
		}
		return text + " ($" + env + ")"
	}
	str := func(p *string, flagName, env, def, text string) {
		if !use(flagName) {
			return
		}
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, flagName, def, describe(flagName, text, env))
	}
	// secret is str for a value that must not show in --help as the
	// default when it comes from the environment or the config file.
	secret := func(p *string, flagName, env, text string) {
		if !use(flagName) {
			return
		}
		fs.StringVar(p, flagName, "", describe(flagName, text, env))
		*p = getenv(env)
	}
	num := func(p *int, flagName, env string, def int, text string) {
		if !use(flagName) {
			return
		}
		if v := getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				bad = append(bad, from(env, v)+" is not a whole number")
			} else {
				def = n
			}
		}
		fs.IntVar(p, flagName, def, describe(flagName, text, env))
	}
	boolean := func(p *bool, flagName, env string, def bool, text string) {
		if !use(flagName) {
			return
		}
		if v := getenv(env); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad = append(bad, from(env, v)+" is not true or false")
			} else {
				def = b
			}
		}
		fs.BoolVar(p, flagName, def, describe(flagName, text, env))
	}
	dur := func(p *time.Duration, flagName, env string, def time.Duration, text string) {
		if !use(flagName) {
			return
		}
		if v := getenv(env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				bad = append(bad, from(env, v)+" is not a duration like 15s")
			} else {
				def = d
			}
		}
		fs.DurationVar(p, flagName, def, describe(flagName, text, env))
	}
	// checked is a string setting with a rule: valid says what is wrong.
	checked := func(p *string, flagName, env, def, text string, valid func(string) error) {
		if !use(flagName) {
			return
		}
		if v := getenv(env); v != "" {
			if err := valid(v); err != nil {
				bad = append(bad, from(env, v)+" "+err.Error())
			} else {
				def = v
			}
		}
		*p = def
		if def != "" {
			text += " (default " + def + ")"
		}
		fs.Func(flagName, describe(flagName, text, env), func(v string) error {
			*p = v
			return valid(v)
		})
	}
	rate := func(p *web.Rate, flagName, env, def, text string) {
		if !use(flagName) {
			return
		}
		if v := getenv(env); v != "" {
			if _, err := web.ParseRate(v); err != nil {
				bad = append(bad, from(env, v)+" "+err.Error())
			} else {
				def = v
			}
		}
		*p, _ = web.ParseRate(def)
		fs.Func(flagName, describe(flagName, text+", like 100/1h, or off (default "+def+")", env), func(v string) error {
			r, err := web.ParseRate(v)
			*p = r
			return err
		})
	}
	var configFile string
	fs.StringVar(&configFile, "config", "", "a TOML file of settings named like the server's flags (flags and environment win) ($APERTURE_CONFIG)")
	str(&cfg.Addr, "addr", "APERTURE_ADDR", "127.0.0.1:8080", "address to listen on")
	str(&cfg.Data, "data", "APERTURE_DATA", "./data", "data directory (database, keys, media)")
	checked(&cfg.LogLevel, "log-level", "APERTURE_LOG_LEVEL", "info", "log level: debug, info, warn, error", validLevel)
	checked(&cfg.LogFormat, "log-format", "APERTURE_LOG_FORMAT", "text", "log format: text or json", validLogFormat)
	dur(&cfg.ShutdownTimeout, "shutdown-timeout", "APERTURE_SHUTDOWN_TIMEOUT", 15*time.Second, "how long to drain requests on SIGINT/SIGTERM")
	num(&cfg.AuthPerIP, "auth-rate-ip", "APERTURE_AUTH_RATE_IP", 20, "sign-up/log-in/refresh attempts per IP per minute")
	num(&cfg.AuthPerUser, "auth-rate-user", "APERTURE_AUTH_RATE_USER", 10, "log-in/sign-up attempts per username per minute")
	num(&cfg.MaxBodyMB, "max-body-mb", "APERTURE_MAX_BODY_MB", 32, "largest request body in MiB")
	num(&cfg.MaxUploadMB, "max-upload-mb", "APERTURE_MAX_UPLOAD_MB", 25, "largest photo upload in MiB")
	num(&cfg.MaxMegapixels, "max-megapixels", "APERTURE_MAX_MEGAPIXELS", 50, "largest photo in megapixels (all GIF frames counted)")
	num(&cfg.Decoders, "decoders", "APERTURE_DECODERS", 0, "photos decoded at once (0: one per CPU)")
	num(&cfg.DecodeMemoryMB, "decode-memory-mb", "APERTURE_DECODE_MEMORY_MB", media.DefaultDecodeMemory>>20, "MiB that all photos being decoded at once may use together; a photo needing more than this is refused")
	num(&cfg.FanoutBatch, "fanout-batch", "APERTURE_FANOUT_BATCH", 1000, "followers whose feeds one fan-out transaction fills")
	num(&cfg.Partitions, "partitions", "APERTURE_PARTITIONS", 0, "partitions (database files, each with its own committer) of a new data directory; 0 means 1 (an existing directory keeps its own)")
	num(&cfg.CelebrityAt, "celebrity-followers", "APERTURE_CELEBRITY_FOLLOWERS", 10000, "followers from which an author's posts are merged into feeds at read time instead of fanned out")
	rate(&cfg.Limits.Posts, "rate-posts", "APERTURE_RATE_POSTS", "100/1h", "posts per account")
	rate(&cfg.Limits.Comments, "rate-comments", "APERTURE_RATE_COMMENTS", "300/1h", "comments per account")
	rate(&cfg.Limits.Likes, "rate-likes", "APERTURE_RATE_LIKES", "1000/1h", "likes and unlikes per account")
	rate(&cfg.Limits.Follows, "rate-follows", "APERTURE_RATE_FOLLOWS", "300/1h", "follows and unfollows per account")
	rate(&cfg.Limits.Uploads, "rate-uploads", "APERTURE_RATE_UPLOADS", "200/1h", "photo uploads (and previews) per account")
	rate(&cfg.Limits.Reads, "rate-reads", "APERTURE_RATE_READS", "6000/1m", "page and API reads per account")
	num(&cfg.Limits.IPFactor, "rate-ip-factor", "APERTURE_RATE_IP_FACTOR", 5, "one IP address may do this many times what one account may")
	str(&cfg.TLSCert, "tls-cert", "APERTURE_TLS_CERT", "", "serve HTTPS with this PEM certificate (chain) file")
	str(&cfg.TLSKey, "tls-key", "APERTURE_TLS_KEY", "", "the certificate's PEM private key file")
	boolean(&cfg.Warm, "warm", "APERTURE_WARM", true, "read the database file in order before opening it (opening walks every page) and log how long it took")
	num(&cfg.QuotaMB, "quota-mb", "APERTURE_QUOTA_MB", 0, "photos each account may keep, in MiB (0: no limit); over it uploads get 413")
	str(&cfg.WebhookAllow, "webhook-allow", "APERTURE_WEBHOOK_ALLOW", "", "comma-separated addresses or CIDR ranges that webhook callbacks and push services may reach although not globally reachable")
	str(&cfg.PublicURL, "public-url", "APERTURE_PUBLIC_URL", "", "the instance's public address (https://photos.example.org), for links in notifications")
	str(&cfg.PushContact, "push-contact", "APERTURE_PUSH_CONTACT", "", "how push services can reach the admin (mailto: or https:), sent with Web Push; the public URL if empty")
	secret(&cfg.SentryDSN, "sentry-dsn", "APERTURE_SENTRY_DSN", "send 5xx errors and panics to this Sentry-compatible DSN (empty: only the log)")
	str(&cfg.Environment, "environment", "APERTURE_ENVIRONMENT", "production", "the environment name errors are reported under")
	str(&cfg.BackupDir, "backup-dir", "APERTURE_BACKUP_DIR", "", "directory for scheduled backups (empty: none)")
	dur(&cfg.BackupEvery, "backup-every", "APERTURE_BACKUP_EVERY", 24*time.Hour, "how often to take a scheduled backup")
	num(&cfg.BackupKeep, "backup-keep", "APERTURE_BACKUP_KEEP", 7, "scheduled backups to keep; older ones are deleted")
	str(&cfg.MapTiles, "map-tiles", "APERTURE_MAP_TILES", "", "raster tile URL template with {z}, {x}, {y} for the photo map (empty: the built-in offline map)")
	str(&cfg.MapAttribution, "map-attribution", "APERTURE_MAP_ATTRIBUTION", "", "credit line shown under map tiles")
	boolean(&cfg.HTTPS, "https", "APERTURE_HTTPS", false, "people reach aperture over HTTPS (e.g. behind a TLS proxy): cookies are Secure and HSTS is sent")
	checked(&cfg.TrustedProxies, "trusted-proxies", "APERTURE_TRUSTED_PROXIES", "", "comma-separated addresses or CIDR ranges of reverse proxies whose --proxy-header names the client (empty: none; the socket's address counts)", validProxies)
	checked(&cfg.ProxyHeader, "proxy-header", "APERTURE_PROXY_HEADER", "X-Forwarded-For", "the header the trusted proxies add the client to: X-Forwarded-For or Forwarded", validProxyHeader)
	secret(&cfg.MetricsToken, "metrics-token", "APERTURE_METRICS_TOKEN", "a bearer token that /metrics requires (empty: none)")
	str(&cfg.MetricsAddr, "metrics-addr", "APERTURE_METRICS_ADDR", "", "serve /metrics on this address of its own instead of the main one (empty: the main address)")
	boolean(&cfg.Alerts.On, "alerts", "APERTURE_ALERTS", true, "watch the instance with the built-in alert rules and tell the admins when one fires")
	dur(&cfg.Alerts.Every, "alert-every", "APERTURE_ALERT_EVERY", alerts.Every, "how often the alert rules are read")
	checked(&cfg.Alerts.Thresholds, "alert-thresholds", "APERTURE_ALERT_THRESHOLDS", "", "alert thresholds by commas: rule=value, rule=value/for or rule=off (the README's Alerts section lists the rules)", alerts.Check)
	checked(&cfg.Alerts.Webhook, "alert-webhook", "APERTURE_ALERT_WEBHOOK", "", "also send alerts to this http(s) URL", validWebhookURL)
	checked(&cfg.Alerts.WebhookFormat, "alert-webhook-format", "APERTURE_ALERT_WEBHOOK_FORMAT", "json", "the alert webhook's body: json (signed with --alert-webhook-key) or pagerduty (Events v2)", validWebhookFormat)
	secret(&cfg.Alerts.WebhookKey, "alert-webhook-key", "APERTURE_ALERT_WEBHOOK_KEY", "the json alert webhook's signing secret, or the PagerDuty routing key")
	secret(&cfg.Alerts.SMTPURL, "smtp-url", "APERTURE_SMTP_URL", "send alert e-mail through this server: smtp://user:password@host:587 (STARTTLS when offered) or smtps://")
	str(&cfg.Alerts.Email, "alert-email", "APERTURE_ALERT_EMAIL", "", "comma-separated addresses alert e-mail goes to (with --smtp-url)")
	str(&cfg.Alerts.From, "alert-email-from", "APERTURE_ALERT_EMAIL_FROM", "", "the alert e-mail's sender (empty: aperture <alerts@HOST>, HOST from --public-url)")
	cfg.Cluster.flags(str, boolean)
	return bad
}

// The rules of the checked settings; each error completes a sentence
// that names the value and where it came from.

func validLevel(v string) error {
	var l slog.Level
	if l.UnmarshalText([]byte(v)) != nil {
		return errors.New("must be debug, info, warn or error")
	}
	return nil
}

func validWebhookURL(v string) error {
	if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return errors.New("must be an http:// or https:// URL")
	}
	return nil
}

func validWebhookFormat(v string) error {
	if v != "json" && v != "pagerduty" {
		return errors.New("must be json or pagerduty")
	}
	return nil
}

func validLogFormat(v string) error {
	if v != "text" && v != "json" {
		return errors.New("must be text or json")
	}
	return nil
}

func validProxies(v string) error {
	if _, err := parseTrustedProxies(v); err != nil {
		return errors.New("must be addresses or CIDR ranges separated by commas")
	}
	return nil
}

func validProxyHeader(v string) error {
	if checkProxyHeader(v) != nil {
		return errors.New("must be X-Forwarded-For or Forwarded (RFC 7239)")
	}
	return nil
}

func (cfg *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", cfg.LogLevel)
	}
	return l, nil
}

// logger returns the slog logger the config asks for, writing to w.
func (cfg *Config) logger(w io.Writer) *slog.Logger {
	l, _ := cfg.level()
	opts := &slog.HandlerOptions{Level: l}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
