package alerts

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// smtpSink is a local SMTP server that offers STARTTLS, asks for AUTH
// PLAIN only over TLS, and keeps what it is sent.
type smtpSink struct {
	ln   net.Listener
	cert tls.Certificate
	ca   *x509.CertPool

	mu   sync.Mutex
	msgs []sunk
}

type sunk struct {
	tls        bool
	auth, from string
	to         []string
	data       string
}

func newSMTPSink(t *testing.T) *smtpSink {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS() // for its certificate for 127.0.0.1
	t.Cleanup(ts.Close)
	ca := x509.NewCertPool()
	ca.AddCert(ts.Certificate())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln, cert: ts.TLS.Certificates[0], ca: ca}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), c
	say := func(line string) { w.Write([]byte(line + "\r\n")) }
	var m sunk
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case verb == "EHLO":
			if m.tls {
				say("250-sink\r\n250 AUTH PLAIN")
			} else {
				say("250-sink\r\n250 STARTTLS")
			}
		case verb == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}})
			if tc.Handshake() != nil {
				return
			}
			c, r, w, m.tls = tc, bufio.NewReader(tc), tc, true
		case verb == "AUTH":
			b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "AUTH PLAIN "))
			m.auth = string(b)
			say("235 ok")
		case verb == "MAIL":
			m.from = line
			say("250 ok")
		case verb == "RCPT":
			m.to = append(m.to, line)
			say("250 ok")
		case verb == "DATA":
			say("354 go")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			m.data = data.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			say("250 queued")
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// E-mail goes over STARTTLS, logs in, and says what fired.
func TestEmailOverSTARTTLS(t *testing.T) {
	sink := newSMTPSink(t)
	m, err := NewEmail("smtp://alerts:pa55@"+sink.ln.Addr().String(), "aperture <alerts@photos.example>", []string{"ops@photos.example", "me@photos.example"})
	if err != nil {
		t.Fatal(err)
	}
	m.TLS = &tls.Config{RootCAs: sink.ca}
	if err := m.Send(context.Background(), firing); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.msgs) != 1 {
		t.Fatalf("%d messages", len(sink.msgs))
	}
	got := sink.msgs[0]
	if !got.tls || got.auth != "\x00alerts\x00pa55" || got.from != "MAIL FROM:<alerts@photos.example>" || len(got.to) != 2 {
		t.Fatalf("session %+v", got)
	}
	for _, want := range []string{"Subject: [aperture] Firing: Free space on the data volume is low", "To: ops@photos.example, me@photos.example",
		"disk-free-warning is 9.5 %, below its threshold of 15 %.", "https://photos.example/admin/alerts"} {
		if !strings.Contains(got.data, want) {
			t.Fatalf("message lacks %q:\n%s", want, got.data)
		}
	}
}

// A certificate the client does not trust stops the message before the
// password is sent.
func TestEmailRefusesAnUntrustedServer(t *testing.T) {
	sink := newSMTPSink(t)
	m, _ := NewEmail("smtp://alerts:pa55@"+sink.ln.Addr().String(), "alerts@photos.example", []string{"ops@photos.example"})
	if err := m.Send(context.Background(), firing); err == nil || !strings.Contains(err.Error(), "STARTTLS failed") {
		t.Fatalf("an untrusted certificate: %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.msgs) != 0 {
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
