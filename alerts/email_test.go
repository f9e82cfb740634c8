package alerts

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"aperture/alerts/alertstest"
)

// E-mail goes over STARTTLS, logs in, and says what fired.
func TestEmailOverSTARTTLS(t *testing.T) {
	sink := alertstest.NewSMTPSink(t, true)
	m, err := NewEmail("smtp://alerts:pa55@"+sink.Addr(), "aperture <alerts@photos.example>", []string{"ops@photos.example", "me@photos.example"})
	if err != nil {
		t.Fatal(err)
	}
	m.TLS = &tls.Config{RootCAs: sink.CA}
	if err := m.Send(context.Background(), firing); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	got := msgs[0]
	if !got.TLS || got.Auth != "\x00alerts\x00pa55" || got.From != "MAIL FROM:<alerts@photos.example>" || len(got.To) != 2 {
		t.Fatalf("session %+v", got)
	}
	for _, want := range []string{"Subject: [aperture] Firing: Free space on the data volume is low", "To: ops@photos.example, me@photos.example",
		"disk-free-warning is 9.5 %, below its threshold of 15 %.", "https://photos.example/admin/alerts"} {
		if !strings.Contains(got.Data, want) {
			t.Fatalf("message lacks %q:\n%s", want, got.Data)
		}
	}
}

// A certificate the client does not trust stops the message before the
// password is sent.
func TestEmailRefusesAnUntrustedServer(t *testing.T) {
	sink := alertstest.NewSMTPSink(t, true)
	m, _ := NewEmail("smtp://alerts:pa55@"+sink.Addr(), "alerts@photos.example", []string{"ops@photos.example"})
	if err := m.Send(context.Background(), firing); err == nil || !strings.Contains(err.Error(), "STARTTLS failed") {
		t.Fatalf("an untrusted certificate: %v", err)
	}
	if len(sink.Messages()) != 0 {
		t.Fatal("a message was sent")
	}
}

func TestNewEmailChecksItsSettings(t *testing.T) {
	for _, c := range []struct {
		url  string
		to   []string
		want string
	}{
		{"mail.example:587", []string{"a@b"}, "smtp://"},
		{"smtp://mail.example", nil, "--alert-email"},
		{"smtp://mail.example", []string{"not-an-address"}, "not an e-mail address"},
		{"smtp://u:secret@", []string{"a@b"}, "smtp://"},
	} {
		_, err := NewEmail(c.url, "alerts@photos.example", c.to)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("NewEmail(%q, %q) = %v, want %q and no password", c.url, c.to, err, c.want)
		}
	}
}
