package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/realclientip/realclientip-go"
)

// clientIPs finds the address a request comes from: the socket peer's,
// unless the peer is one of the trusted reverse proxies. Then it is the
// rightmost address of the proxies' header (X-Forwarded-For, or RFC 7239
// Forwarded) that is not itself a trusted proxy — each proxy appends the
// address it was reached from, so everything left of that was written by
// the client and proves nothing. When that address is missing or
// malformed, or every address in the header is a trusted proxy, the peer
// stands. A header sent by any other peer is ignored.
type clientIPs struct {
	trusted []netip.Prefix
	header  string // canonical: X-Forwarded-For or Forwarded
	walk    realclientip.RightmostTrustedRangeStrategy
}

// newClientIPs returns the finder for these trusted proxies and header:
// "Forwarded" (in any case) for RFC 7239's, anything else for
// X-Forwarded-For.
func newClientIPs(trusted []netip.Prefix, header string) *clientIPs {
	p := &clientIPs{trusted: trusted, header: "X-Forwarded-For"}
	if strings.EqualFold(header, "Forwarded") {
		p.header = "Forwarded"
	}
	nets := make([]net.IPNet, 0, len(trusted))
	for _, t := range trusted {
		t = t.Masked()
		nets = append(nets, net.IPNet{IP: t.Addr().AsSlice(), Mask: net.CIDRMask(t.Bits(), t.Addr().BitLen())})
	}
	// The header name is one of the two the strategy takes, so it cannot fail.
	p.walk, _ = realclientip.NewRightmostTrustedRangeStrategy(p.header, nets)
	return p
}

// of returns the client address of a request, as text, and the peer's
// when that is a proxy that named the client ("" otherwise).
func (p *clientIPs) of(c *fiber.Ctx) (client, proxy string) {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !p.isTrusted(peer) {
		return peer.String(), ""
	}
	values := c.Request().Header.PeekAll(p.header)
	if len(values) == 0 {
		return peer.String(), ""
	}
	h := http.Header{}
	for _, v := range values {
		h[p.header] = append(h[p.header], string(v))
	}
	a, err := netip.ParseAddr(p.walk.ClientIP(h, ""))
	if err != nil {
		return peer.String(), ""
	}
	return a.Unmap().WithZone("").String(), peer.String()
}

// isTrusted reports whether a is one of the trusted proxies.
func (p *clientIPs) isTrusted(a netip.Addr) bool {
	for _, t := range p.trusted {
		if t.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP returns the request's client address (see clientIPs): what
// rate limits count and the log records.
func clientIP(c *fiber.Ctx) string {
	if ri := requestInfo(c); ri != nil && ri.ip != "" {
		return ri.ip
	}
	return c.IP()
}
