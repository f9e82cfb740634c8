package alerts

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Email sends events by SMTP. The server is an smtp:// URL
// (smtp://user:password@host:587): the connection is upgraded with
// STARTTLS whenever the server offers it, and credentials are never sent
// over a connection that was not (except to localhost); smtps:// connects
// with TLS from the start (port 465).
type Email struct {
	server *url.URL
	// From is the sender ("aperture <alerts@photos.example>").
	From string
	To   []string
	// TLS, when set, is used for the TLS connection (tests give their own
	// certificate authority); the server name is always the URL's host.
	TLS *tls.Config
}

// NewEmail returns the e-mail channel for an smtp:// or smtps:// URL,
// sending from from to the addresses in to. It fails naming what does not
// read.
func NewEmail(smtpURL, from string, to []string) (*Email, error) {
	u, err := url.Parse(smtpURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, fmt.Errorf("--smtp-url %q: write it as smtp://user:password@host:587 (or smtps:// for TLS from the start)", redact(smtpURL))
	}
	if len(to) == 0 {
		return nil, errors.New("--smtp-url is set but --alert-email names no address to send to")
	}
	for _, a := range append([]string{from}, to...) {
		if !strings.Contains(a, "@") || strings.ContainsAny(a, "\r\n") {
			return nil, fmt.Errorf("%q is not an e-mail address", a)
		}
	}
	return &Email{server: u, From: from, To: to}, nil
}

// redact hides a URL's password.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unreadable)"
}

// Name returns "email".
func (*Email) Name() string { return "email" }

// Send delivers the event as a plain-text message to every address.
func (m *Email) Send(ctx context.Context, e Event) error {
	host, port := m.server.Hostname(), m.server.Port()
	implicit := m.server.Scheme == "smtps"
	if port == "" {
		port = map[bool]string{true: "465", false: "587"}[implicit]
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.TLS != nil {
		cfg = m.TLS.Clone()
	}
	cfg.ServerName = host
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	var err error
	if implicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: cfg}).DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	} else {
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	}
	if err != nil {
		return fmt.Errorf("the mail server %s could not be reached: %w", host, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("the mail server %s: %w", host, err)
	}
	defer c.Close()
	if !implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(cfg); err != nil {
				return fmt.Errorf("the mail server %s: STARTTLS failed: %w", host, err)
			}
		}
	}
	if user := m.server.User; user != nil {
		pass, _ := user.Password()
		// PlainAuth refuses to send the password unless the connection is
		// TLS or the server is localhost.
		if err := c.Auth(smtp.PlainAuth("", user.Username(), pass, host)); err != nil {
			return fmt.Errorf("the mail server %s refused the log-in: %w", host, err)
		}
	}
	if err := c.Mail(address(m.From)); err != nil {
		return fmt.Errorf("the mail server %s refused the sender: %w", host, err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("the mail server %s refused %s: %w", host, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("the mail server %s: %w", host, err)
	}
	if _, err := w.Write(m.message(e)); err != nil {
		return fmt.Errorf("the mail server %s: %w", host, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("the mail server %s did not take the message: %w", host, err)
	}
	return c.Quit()
}

// address returns the bare address of "Name <addr>".
func address(s string) string {
	if i, j := strings.LastIndex(s, "<"), strings.LastIndex(s, ">"); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return s
}

// message writes the event as an RFC 5322 message.
func (m *Email) message(e Event) []byte {
	var id [12]byte
	rand.Read(id[:])
	domain := address(m.From)
	domain = domain[strings.LastIndex(domain, "@")+1:]
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		m.From, strings.Join(m.To, ", "), mime.QEncoding.Encode("utf-8", "[aperture] "+e.Title()), e.At.UTC().Format(time.RFC1123Z), hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(e.Text() + "\r\n")
	if e.Instance != "" {
		b.WriteString("\r\n" + strings.TrimRight(e.Instance, "/") + "/admin/alerts\r\n")
	}
	if e.Kind == Firing || e.Kind == Reminder {
		b.WriteString("\r\nA reminder follows every " + Remind.String() + " while it fires; one more message when it resolves.\r\n")
	}
	return []byte(b.String()) // the DATA writer dot-stuffs
}
