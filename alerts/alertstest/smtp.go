// Package alertstest holds what the alerts' tests share: a local SMTP
// server that keeps what it is sent.
package alertstest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// SMTPSink is an SMTP server on 127.0.0.1 that offers STARTTLS (with a
// certificate CA trusts) unless made plain, asks for AUTH PLAIN only over
// TLS, and keeps the messages it takes.
type SMTPSink struct {
	ln       net.Listener
	cert     tls.Certificate
	startTLS bool
	// CA trusts the sink's certificate.
	CA *x509.CertPool

	mu   sync.Mutex
	msgs []Message
}

// Message is one message as the sink took it.
type Message struct {
	TLS        bool     // the session was upgraded with STARTTLS
	Auth, From string   // the AUTH PLAIN credentials, the MAIL FROM line
	To         []string // the RCPT TO lines
	Data       string   // the message, headers and body
}

// NewSMTPSink starts a sink that stops with the test; startTLS says
// whether it offers STARTTLS.
func NewSMTPSink(t testing.TB, startTLS bool) *SMTPSink {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS() // for its certificate for 127.0.0.1
	t.Cleanup(ts.Close)
	ca := x509.NewCertPool()
	ca.AddCert(ts.Certificate())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPSink{ln: ln, cert: ts.TLS.Certificates[0], CA: ca, startTLS: startTLS}
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

// Addr returns the sink's host:port.
func (s *SMTPSink) Addr() string { return s.ln.Addr().String() }

// Messages returns the messages taken so far.
func (s *SMTPSink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *SMTPSink) serve(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), c
	say := func(line string) { w.Write([]byte(line + "\r\n")) }
	var m Message
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
			switch {
			case m.TLS:
				say("250-sink\r\n250 AUTH PLAIN")
			case s.startTLS:
				say("250-sink\r\n250 STARTTLS")
			default:
				say("250 sink")
			}
		case verb == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}})
			if tc.Handshake() != nil {
				return
			}
			c, r, w, m.TLS = tc, bufio.NewReader(tc), tc, true
		case verb == "AUTH":
			b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "AUTH PLAIN "))
			m.Auth = string(b)
			say("235 ok")
		case verb == "MAIL":
			m.From = line
			say("250 ok")
		case verb == "RCPT":
			m.To = append(m.To, line)
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
			m.Data = data.String()
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
