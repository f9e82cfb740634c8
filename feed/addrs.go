package feed

import (
	"net/netip"
)

// SpecialRange is one entry of IANA's IPv4 or IPv6 Special-Purpose
// Address Registry (RFC 6890 and its updates), or one of the few other
// ranges that no public service lives in (multicast, deprecated IPv6
// forms). Global is the registry's "Globally Reachable" column; an entry
// whose column says N/A counts as not global, so it is refused.
type SpecialRange struct {
	Prefix   netip.Prefix
	Name     string
	RFC      string
	Global   bool
	Registry bool // listed in an IANA special-purpose registry
	embeds   embedding
}

// embedding says where, if anywhere, an IPv6 range carries an IPv4
// address; that address is checked too.
type embedding uint8

const (
	embedsNone       embedding = iota
	embedsLow32                // the last 32 bits: NAT64 /96, IPv4-mapped, -compatible, -translated
	embedsSixTo4               // 2002:AABB:CCDD::/48: bits 16–47
	embedsTeredo               // server in bits 32–63, client (inverted) in bits 96–127
	embedsNAT64Local           // RFC 6052 layout under a /48: bits 48–63 and 72–87
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// specialRanges is the whole IANA IPv4 Special-Purpose Address Registry
// and IPv6 Special-Purpose Address Registry, each entry with its
// "Globally Reachable" column, followed by the ranges outside them that
// aperture refuses too. The most specific entry containing an address
// decides (the registries' own rule: "unless allowed by a more specific
// allocation").
var specialRanges = []SpecialRange{
	// IPv4 Special-Purpose Address Registry.
	{Prefix: mustPrefix("0.0.0.0/8"), Name: `"This network"`, RFC: "RFC 791", Registry: true},
	{Prefix: mustPrefix("0.0.0.0/32"), Name: `"This host on this network"`, RFC: "RFC 1122", Registry: true},
	{Prefix: mustPrefix("10.0.0.0/8"), Name: "Private-Use", RFC: "RFC 1918", Registry: true},
	{Prefix: mustPrefix("100.64.0.0/10"), Name: "Shared Address Space", RFC: "RFC 6598", Registry: true},
	{Prefix: mustPrefix("127.0.0.0/8"), Name: "Loopback", RFC: "RFC 1122", Registry: true},
	{Prefix: mustPrefix("169.254.0.0/16"), Name: "Link Local", RFC: "RFC 3927", Registry: true},
	{Prefix: mustPrefix("172.16.0.0/12"), Name: "Private-Use", RFC: "RFC 1918", Registry: true},
	{Prefix: mustPrefix("192.0.0.0/24"), Name: "IETF Protocol Assignments", RFC: "RFC 6890", Registry: true},
	{Prefix: mustPrefix("192.0.0.0/29"), Name: "IPv4 Service Continuity Prefix", RFC: "RFC 7335", Registry: true},
	{Prefix: mustPrefix("192.0.0.8/32"), Name: "IPv4 dummy address", RFC: "RFC 7600", Registry: true},
	{Prefix: mustPrefix("192.0.0.9/32"), Name: "Port Control Protocol Anycast", RFC: "RFC 7723", Global: true, Registry: true},
	{Prefix: mustPrefix("192.0.0.10/32"), Name: "Traversal Using Relays around NAT Anycast", RFC: "RFC 8155", Global: true, Registry: true},
	{Prefix: mustPrefix("192.0.0.170/32"), Name: "NAT64/DNS64 Discovery", RFC: "RFC 8880", Registry: true},
	{Prefix: mustPrefix("192.0.0.171/32"), Name: "NAT64/DNS64 Discovery", RFC: "RFC 8880", Registry: true},
	{Prefix: mustPrefix("192.0.2.0/24"), Name: "Documentation (TEST-NET-1)", RFC: "RFC 5737", Registry: true},
	{Prefix: mustPrefix("192.31.196.0/24"), Name: "AS112-v4", RFC: "RFC 7535", Global: true, Registry: true},
	{Prefix: mustPrefix("192.52.193.0/24"), Name: "AMT", RFC: "RFC 7450", Global: true, Registry: true},
	{Prefix: mustPrefix("192.88.99.0/24"), Name: "Deprecated (6to4 Relay Anycast)", RFC: "RFC 7526", Registry: true}, // N/A
	{Prefix: mustPrefix("192.88.99.2/32"), Name: "6a44-relay anycast address", RFC: "RFC 6751", Registry: true},
	{Prefix: mustPrefix("192.168.0.0/16"), Name: "Private-Use", RFC: "RFC 1918", Registry: true},
	{Prefix: mustPrefix("192.175.48.0/24"), Name: "Direct Delegation AS112 Service", RFC: "RFC 7534", Global: true, Registry: true},
	{Prefix: mustPrefix("198.18.0.0/15"), Name: "Benchmarking", RFC: "RFC 2544", Registry: true},
	{Prefix: mustPrefix("198.51.100.0/24"), Name: "Documentation (TEST-NET-2)", RFC: "RFC 5737", Registry: true},
	{Prefix: mustPrefix("203.0.113.0/24"), Name: "Documentation (TEST-NET-3)", RFC: "RFC 5737", Registry: true},
	{Prefix: mustPrefix("240.0.0.0/4"), Name: "Reserved", RFC: "RFC 1112", Registry: true},
	{Prefix: mustPrefix("255.255.255.255/32"), Name: "Limited Broadcast", RFC: "RFC 8190", Registry: true},

	// IPv6 Special-Purpose Address Registry.
	{Prefix: mustPrefix("::1/128"), Name: "Loopback Address", RFC: "RFC 4291", Registry: true},
	{Prefix: mustPrefix("::/128"), Name: "Unspecified Address", RFC: "RFC 4291", Registry: true},
	{Prefix: mustPrefix("::ffff:0:0/96"), Name: "IPv4-mapped Address", RFC: "RFC 4291", Registry: true, embeds: embedsLow32},
	{Prefix: mustPrefix("64:ff9b::/96"), Name: "IPv4-IPv6 Translation", RFC: "RFC 6052", Global: true, Registry: true, embeds: embedsLow32},
	{Prefix: mustPrefix("64:ff9b:1::/48"), Name: "IPv4-IPv6 Translation (local use)", RFC: "RFC 8215", Registry: true, embeds: embedsNAT64Local},
	{Prefix: mustPrefix("100::/64"), Name: "Discard-Only Address Block", RFC: "RFC 6666", Registry: true},
	{Prefix: mustPrefix("100:0:0:1::/64"), Name: "Dummy IPv6 Prefix", RFC: "RFC 9780", Registry: true},
	{Prefix: mustPrefix("2001::/23"), Name: "IETF Protocol Assignments", RFC: "RFC 2928", Registry: true},
	{Prefix: mustPrefix("2001::/32"), Name: "TEREDO", RFC: "RFC 4380", Registry: true, embeds: embedsTeredo}, // N/A
	{Prefix: mustPrefix("2001:1::1/128"), Name: "Port Control Protocol Anycast", RFC: "RFC 7723", Global: true, Registry: true},
	{Prefix: mustPrefix("2001:1::2/128"), Name: "Traversal Using Relays around NAT Anycast", RFC: "RFC 8155", Global: true, Registry: true},
	{Prefix: mustPrefix("2001:1::3/128"), Name: "DNS-SD Service Registration Protocol Anycast", RFC: "RFC 9665", Global: true, Registry: true},
	{Prefix: mustPrefix("2001:2::/48"), Name: "Benchmarking", RFC: "RFC 5180", Registry: true},
	{Prefix: mustPrefix("2001:3::/32"), Name: "AMT", RFC: "RFC 7450", Global: true, Registry: true},
	{Prefix: mustPrefix("2001:4:112::/48"), Name: "AS112-v6", RFC: "RFC 7535", Global: true, Registry: true},
	{Prefix: mustPrefix("2001:10::/28"), Name: "Deprecated (previously ORCHID)", RFC: "RFC 4843", Registry: true}, // N/A
	{Prefix: mustPrefix("2001:20::/28"), Name: "ORCHIDv2", RFC: "RFC 7343", Global: true, Registry: true},
	{Prefix: mustPrefix("2001:30::/28"), Name: "Drone Remote ID Protocol Entity Tags (DETs) Prefix", RFC: "RFC 9374", Global: true, Registry: true},
	{Prefix: mustPrefix("2001:db8::/32"), Name: "Documentation", RFC: "RFC 3849", Registry: true},
	{Prefix: mustPrefix("2002::/16"), Name: "6to4", RFC: "RFC 3056", Registry: true, embeds: embedsSixTo4}, // N/A
	{Prefix: mustPrefix("2620:4f:8000::/48"), Name: "Direct Delegation AS112 Service", RFC: "RFC 7534", Global: true, Registry: true},
	{Prefix: mustPrefix("3fff::/20"), Name: "Documentation", RFC: "RFC 9637", Registry: true},
	{Prefix: mustPrefix("5f00::/16"), Name: "Segment Routing (SRv6) SIDs", RFC: "RFC 9602", Registry: true},
	{Prefix: mustPrefix("fc00::/7"), Name: "Unique-Local", RFC: "RFC 4193", Registry: true},
	{Prefix: mustPrefix("fe80::/10"), Name: "Link-Local Unicast", RFC: "RFC 4291", Registry: true},

	// Not in the special-purpose registries, and no public service either.
	{Prefix: mustPrefix("224.0.0.0/4"), Name: "IPv4 multicast", RFC: "RFC 5771"},
	{Prefix: mustPrefix("ff00::/8"), Name: "IPv6 multicast", RFC: "RFC 4291"},
	{Prefix: mustPrefix("fec0::/10"), Name: "Site-local (deprecated)", RFC: "RFC 3879"},
	{Prefix: mustPrefix("::/96"), Name: "IPv4-compatible (deprecated)", RFC: "RFC 4291", embeds: embedsLow32},
	{Prefix: mustPrefix("::ffff:0:0:0/96"), Name: "IPv4-translated", RFC: "RFC 2765", embeds: embedsLow32},
}

// globalUnicast6 is the only IPv6 space IANA has allocated for global
// unicast; an address outside it that no entry allows is refused.
var globalUnicast6 = mustPrefix("2000::/3")

// SpecialRanges returns a copy of the table aperture checks outbound
// addresses against, most general entries first within each registry.
func SpecialRanges() []SpecialRange { return append([]SpecialRange(nil), specialRanges...) }

// special returns the most specific entry containing a, or nil.
func special(a netip.Addr) *SpecialRange {
	var best *SpecialRange
	for i := range specialRanges {
		r := &specialRanges[i]
		if r.Prefix.Contains(a) && (best == nil || r.Prefix.Bits() > best.Prefix.Bits()) {
			best = r
		}
	}
	return best
}

// EmbeddedIPv4 returns the IPv4 addresses an IPv6 address carries by a
// transition scheme (IPv4-mapped, -compatible and -translated forms,
// NAT64, 6to4, Teredo's server and client); none for other addresses.
func EmbeddedIPv4(a netip.Addr) []netip.Addr {
	if !a.Is6() {
		return nil
	}
	r := special(a.WithZone(""))
	if r == nil {
		return nil
	}
	b := a.As16()
	v4 := func(x []byte) netip.Addr { return netip.AddrFrom4([4]byte{x[0], x[1], x[2], x[3]}) }
	switch r.embeds {
	case embedsLow32:
		return []netip.Addr{v4(b[12:])}
	case embedsSixTo4:
		return []netip.Addr{v4(b[2:])}
	case embedsTeredo:
		return []netip.Addr{v4(b[4:]), v4([]byte{^b[12], ^b[13], ^b[14], ^b[15]})}
	case embedsNAT64Local:
		return []netip.Addr{v4([]byte{b[6], b[7], b[9], b[10]})}
	}
	return nil
}

// Public reports whether aperture may call a: the most specific entry of
// SpecialRanges that contains it must be globally reachable, an IPv6
// address outside every entry must lie in the global unicast space, and
// an IPv4 address carried inside an allowed IPv6 one (NAT64) must itself
// be public. An IPv4-mapped address is judged as the IPv4 address it
// maps, since that is where a connection to it goes. why names the range
// that refuses it, for logs.
func Public(a netip.Addr) (ok bool, why string) {
	a = a.WithZone("").Unmap()
	if !a.IsValid() {
		return false, "no address"
	}
	r := special(a)
	if r == nil {
		if a.Is6() && !globalUnicast6.Contains(a) {
			return false, "unallocated IPv6 space"
		}
		return true, ""
	}
	why = r.Name + " (" + r.Prefix.String() + ")"
	if !r.Global {
		return false, why
	}
	for _, v4 := range EmbeddedIPv4(a) {
		if ok, inner := Public(v4); !ok {
			return false, why + " carrying " + inner
		}
	}
	return true, ""
}
