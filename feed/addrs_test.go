package feed_test

import (
	"net/netip"
	"testing"

	"aperture/feed"
)

// ianaRegistries is IANA's IPv4 and IPv6 Special-Purpose Address
// Registries as published, with each entry's "Globally Reachable" column
// (N/A written as false). The code keeps its own copy; this one is the
// specification it is checked against.
var ianaRegistries = []struct {
	prefix string
	global bool
}{
	// IPv4
	{"0.0.0.0/8", false}, {"0.0.0.0/32", false}, {"10.0.0.0/8", false}, {"100.64.0.0/10", false},
	{"127.0.0.0/8", false}, {"169.254.0.0/16", false}, {"172.16.0.0/12", false},
	{"192.0.0.0/24", false}, {"192.0.0.0/29", false}, {"192.0.0.8/32", false}, {"192.0.0.9/32", true},
	{"192.0.0.10/32", true}, {"192.0.0.170/32", false}, {"192.0.0.171/32", false}, {"192.0.2.0/24", false},
	{"192.31.196.0/24", true}, {"192.52.193.0/24", true}, {"192.88.99.0/24", false}, {"192.88.99.2/32", false},
	{"192.168.0.0/16", false}, {"192.175.48.0/24", true}, {"198.18.0.0/15", false}, {"198.51.100.0/24", false},
	{"203.0.113.0/24", false}, {"240.0.0.0/4", false}, {"255.255.255.255/32", false},
	// IPv6
	{"::1/128", false}, {"::/128", false}, {"::ffff:0:0/96", false}, {"64:ff9b::/96", true},
	{"64:ff9b:1::/48", false}, {"100::/64", false}, {"100:0:0:1::/64", false}, {"2001::/23", false},
	{"2001::/32", false}, {"2001:1::1/128", true}, {"2001:1::2/128", true}, {"2001:1::3/128", true},
	{"2001:2::/48", false}, {"2001:3::/32", true}, {"2001:4:112::/48", true}, {"2001:10::/28", false},
	{"2001:20::/28", true}, {"2001:30::/28", true}, {"2001:db8::/32", false}, {"2002::/16", false},
	{"2620:4f:8000::/48", true}, {"3fff::/20", false}, {"5f00::/16", false}, {"fc00::/7", false},
	{"fe80::/10", false},
}

// alsoRefused are ranges outside the special-purpose registries that
// hold no public service.
var alsoRefused = []string{"224.0.0.0/4", "ff00::/8", "fec0::/10", "::/96", "::ffff:0:0:0/96"}

// samples returns the first, a middle and the last address of a prefix.
func samples(p netip.Prefix) [3]netip.Addr {
	first := p.Masked().Addr()
	b := first.AsSlice()
	last := append([]byte(nil), b...)
	for i := p.Bits(); i < len(b)*8; i++ {
		last[i/8] |= 0x80 >> (i % 8)
	}
	mid := append([]byte(nil), b...)
	if p.Bits() < len(b)*8 {
		mid[p.Bits()/8] |= 0x80 >> (p.Bits() % 8)
	}
	l, _ := netip.AddrFromSlice(last)
	m, _ := netip.AddrFromSlice(mid)
	return [3]netip.Addr{first, m, l}
}

// TestRegistryTableIsComplete: the code's table holds every registry
// entry with its column, and nothing else is marked as a registry entry.
func TestRegistryTableIsComplete(t *testing.T) {
	code := map[netip.Prefix]feed.SpecialRange{}
	for _, r := range feed.SpecialRanges() {
		if r.Registry {
			code[r.Prefix] = r
		}
	}
	for _, e := range ianaRegistries {
		r, ok := code[netip.MustParsePrefix(e.prefix)]
		if !ok {
			t.Errorf("%s is missing from the table", e.prefix)
			continue
		}
		if r.Global != e.global {
			t.Errorf("%s: global %v, the registry says %v", e.prefix, r.Global, e.global)
		}
		delete(code, r.Prefix)
	}
	for p := range code {
		t.Errorf("%s is marked as a registry entry but is not one", p)
	}
}

// TestEveryRegistryEntry checks the first, a middle and the last address
// of every entry of both registries (and of the other refused ranges):
// not globally reachable is refused, globally reachable is allowed, and
// where an IPv4 address is carried, it decides too.
func TestEveryRegistryEntry(t *testing.T) {
	type entry struct {
		prefix string
		global bool
	}
	var all []entry
	for _, e := range ianaRegistries {
		all = append(all, entry{e.prefix, e.global})
	}
	for _, p := range alsoRefused {
		all = append(all, entry{p, false})
	}
	// Where the verdict depends on the carried IPv4 address: the first
	// carries 0.0.0.0, the last 255.255.255.255 (both refused), the
	// middle 128.0.0.0 (public). IPv4-mapped addresses are judged as the
	// IPv4 address they map, since the connection goes there.
	carried := map[string][3]bool{"64:ff9b::/96": {false, true, false}, "::ffff:0:0/96": {false, true, false}}
	for _, e := range all {
		t.Run(e.prefix, func(t *testing.T) {
			want := [3]bool{e.global, e.global, e.global}
			if c, ok := carried[e.prefix]; ok {
				want = c
			}
			for i, a := range samples(netip.MustParsePrefix(e.prefix)) {
				if ok, why := feed.Public(a); ok != want[i] {
					t.Errorf("%s: public %v (%s), want %v", a, ok, why, want[i])
				}
			}
		})
	}
}

// TestJustOutside: the neighbours of refused ranges are ordinary public
// addresses and are allowed; inside a refused block, what no more
// specific entry allows stays refused.
func TestJustOutside(t *testing.T) {
	allowed := []string{
		"1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
		"169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "191.255.255.255", "192.0.1.0",
		"192.0.1.255", "192.0.3.0", "192.31.195.255", "192.52.194.0", "192.88.98.255", "192.88.100.0",
		"192.167.255.255", "192.169.0.0", "192.175.47.255", "198.17.255.255", "198.20.0.0", "198.51.99.255",
		"198.51.101.0", "203.0.112.255", "203.0.114.0", "223.255.255.255", "8.8.8.8", "1.1.1.1",
		"192.0.0.9", "192.0.0.10",
		"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:200::", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
		"2001:db9::", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::", "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff",
		"2620:4f:8001::", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::", "2606:4700:4700::1111",
		"2a00:1450:4001:81a::200e", "64:ff9b::8.8.8.8", "::ffff:8.8.8.8", "2001:1::1",
	}
	refused := []string{
		"192.0.0.11", "192.0.0.169", "192.0.0.172", "192.88.99.1", "2001:1::4", "2001:2:1::", "2001:4:113::",
		"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b:0:0:0:1::", "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "4000::1", "1fff::1",
	}
	for _, s := range allowed {
		t.Run("allowed "+s, func(t *testing.T) {
			if ok, why := feed.Public(netip.MustParseAddr(s)); !ok {
				t.Errorf("refused (%s)", why)
			}
		})
	}
	for _, s := range refused {
		t.Run("refused "+s, func(t *testing.T) {
			if ok, _ := feed.Public(netip.MustParseAddr(s)); ok {
				t.Error("allowed")
			}
		})
	}
}

// TestEmbeddedIPv4: the IPv4 address inside each transition form is
// found, and a refused one refuses the IPv6 address that carries it.
func TestEmbeddedIPv4(t *testing.T) {
	cases := []struct {
		addr    string
		carries []string
		public  bool
	}{
		{"64:ff9b::10.0.0.1", []string{"10.0.0.1"}, false},
		{"64:ff9b::127.0.0.1", []string{"127.0.0.1"}, false},
		{"64:ff9b::169.254.169.254", []string{"169.254.169.254"}, false},
		{"64:ff9b::198.18.0.1", []string{"198.18.0.1"}, false},
		{"64:ff9b::240.0.0.1", []string{"240.0.0.1"}, false},
		{"64:ff9b::8.8.4.4", []string{"8.8.4.4"}, true},
		{"64:ff9b:1:c000:2:2100::", []string{"192.0.2.33"}, false},
		{"2002:a00:1::1", []string{"10.0.0.1"}, false},
		{"2002:c000:201::1", []string{"192.0.2.1"}, false},
		{"2002:808:808::1", []string{"8.8.8.8"}, false}, // 6to4 is N/A in the registry: refused whatever it carries
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", []string{"65.54.227.120", "192.0.2.45"}, false},
		{"2001:0:a00:1::", []string{"10.0.0.1", "255.255.255.255"}, false},
		{"::ffff:10.0.0.1", []string{"10.0.0.1"}, false},
		{"::ffff:127.0.0.1", []string{"127.0.0.1"}, false},
		{"::ffff:169.254.169.254", []string{"169.254.169.254"}, false},
		{"::10.0.0.1", []string{"10.0.0.1"}, false},
		{"::127.0.0.1", []string{"127.0.0.1"}, false},
		{"::8.8.8.8", []string{"8.8.8.8"}, false}, // IPv4-compatible addresses are deprecated: refused
		{"::ffff:0:10.0.0.1", []string{"10.0.0.1"}, false},
		{"2606:4700::1", nil, true},
		{"fe80::1%eth0", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tc.addr)
			got := feed.EmbeddedIPv4(a)
			if len(got) != len(tc.carries) {
				t.Fatalf("carries %v, want %v", got, tc.carries)
			}
			for i, s := range tc.carries {
				if got[i] != netip.MustParseAddr(s) {
					t.Fatalf("carries %v, want %v", got, tc.carries)
				}
			}
			if ok, why := feed.Public(a); ok != tc.public {
				t.Fatalf("public %v (%s), want %v", ok, why, tc.public)
			}
		})
	}
}
