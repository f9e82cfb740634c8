package main

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"aperture/alerts"
	"aperture/feed"
)

// backupState is what the scheduled backups report to the alert rules
// and the metrics: when the newest one succeeded and whether the newest
// attempt failed.
type backupState struct {
	every time.Duration

	mu       sync.Mutex
	last     time.Time // the newest success; the schedule's start before one
	failed   bool
	failures int
}

func newBackupState(every time.Duration, start time.Time) *backupState {
	return &backupState{every: every, last: start}
}

// done records an attempt's outcome at now.
func (b *backupState) done(now time.Time, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failed = err != nil
	if err != nil {
		b.failures++
	} else {
		b.last = now
	}
}

func (b *backupState) status() alerts.BackupStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return alerts.BackupStatus{Every: b.every, Last: b.last, Failed: b.failed}
}

// collectors export the backups' state: aperture_backup_last_success_timestamp_seconds,
// aperture_backup_interval_seconds, aperture_backup_last_failed and
// aperture_backup_failures_total.
func (b *backupState) collectors() []prometheus.Collector {
	read := func(f func() float64) func() float64 {
		return func() float64 { b.mu.Lock(); defer b.mu.Unlock(); return f() }
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_backup_last_success_timestamp_seconds",
			Help: "When the newest scheduled backup succeeded (Unix time); the server's start before a first one."},
			read(func() float64 { return float64(b.last.UnixMilli()) / 1000 })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_backup_interval_seconds", Help: "How often a scheduled backup is taken (--backup-every)."},
			func() float64 { return b.every.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_backup_last_failed", Help: "1 when the newest scheduled backup attempt failed."},
			read(func() float64 {
				if b.failed {
					return 1
				}
				return 0
			})),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "aperture_backup_failures_total", Help: "Scheduled backups that failed."},
			read(func() float64 { return float64(b.failures) })),
	}
}

// alertChannels returns where alerts go: push to every admin, and the
// webhook and e-mail when they are set.
func (m *Main) alertChannels(webhooks *feed.Webhooks) ([]alerts.Channel, error) {
	cfg := m.Config.Alerts
	channels := []alerts.Channel{alerts.Push{St: m.st}}
	if cfg.Webhook != "" {
		switch {
		case cfg.WebhookFormat == "pagerduty" && cfg.WebhookKey == "":
			return nil, errors.New("--alert-webhook-format pagerduty needs the routing key in --alert-webhook-key")
		case cfg.WebhookKey == "":
			m.log.Warn("--alert-webhook has no --alert-webhook-key: its calls are not signed")
		}
		channels = append(channels, &alerts.Webhook{URL: cfg.Webhook, PagerDuty: cfg.WebhookFormat == "pagerduty", Key: cfg.WebhookKey,
			Client: webhooks.Client()})
	}
	if cfg.SMTPURL != "" || cfg.Email != "" {
		host := "localhost"
		if u, err := url.Parse(m.Config.PublicURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		var to []string
		for _, a := range strings.Split(cfg.Email, ",") {
			if a = strings.TrimSpace(a); a != "" {
				to = append(to, a)
			}
		}
		if cfg.SMTPURL == "" {
			return nil, errors.New("--alert-email needs --smtp-url, the mail server to send through")
		}
		from := cfg.From
		if from == "" {
			from = "aperture <alerts@" + host + ">"
		}
		mail, err := alerts.NewEmail(cfg.SMTPURL, from, to)
		if err != nil {
			return nil, err
		}
		channels = append(channels, mail)
	}
	return channels, nil
}

// alertDeps returns web.Deps.Alerts: it builds the engine over the web
// layer's measurements and the server's own (data volume, memory,
// backups, search index), keeps it in m.alerts for Run, and registers
// the backup and system metrics. With --alerts=false it returns nil.
func (m *Main) alertDeps(webhooks *feed.Webhooks, registry *prometheus.Registry, backups *backupState) (func(alerts.Sources) *alerts.Engine, error) {
	registry.MustRegister(alerts.SystemCollector(m.Config.Data))
	if backups != nil {
		registry.MustRegister(backups.collectors()...)
	}
	if !m.Config.Alerts.On {
		return nil, nil
	}
	channels, err := m.alertChannels(webhooks)
	if err != nil {
		return nil, err
	}
	return func(src alerts.Sources) *alerts.Engine {
		data := m.Config.Data
		src.Disk = func() (uint64, uint64, error) { return alerts.VolumeSpace(data) }
		src.Memory = alerts.SystemMemory
		src.SearchLag = m.index.Lag
		if backups != nil {
			src.Backups = backups.status
		}
		rules, _ := alerts.Configure(alerts.Rules(src), m.Config.Alerts.Thresholds) // checked with the flags
		m.alerts = alerts.New(rules, channels, m.Config.PublicURL, m.log, time.Now())
		m.alerts.Every = m.Config.Alerts.Every
		return m.alerts
	}, nil
}

// runAlerts evaluates the rules until ctx ends.
func (m *Main) runAlerts(ctx context.Context) {
	if m.alerts != nil {
		m.alerts.Run(ctx)
	}
}
