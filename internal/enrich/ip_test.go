package enrich

import (
	"net/netip"
	"testing"
)

func TestAnonymizeIP(t *testing.T) {
	tests := []struct {
		name string
		in   netip.Addr
		want netip.Addr
	}{
		{"ipv4", netip.MustParseAddr("192.0.2.123"), netip.MustParseAddr("192.0.2.0")},
		{"ipv4 already anonymous", netip.MustParseAddr("192.0.2.0"), netip.MustParseAddr("192.0.2.0")},
		{"ipv4 broadcast", netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("255.255.255.0")},
		{"ipv4 loopback", netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.0")},
		{"ipv6", netip.MustParseAddr("2001:db8:abcd:12:1:2:3:4"), netip.MustParseAddr("2001:db8:abcd::")},
		{"ipv6 keeps 48 bits", netip.MustParseAddr("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff"), netip.MustParseAddr("2001:db8:abcd::")},
		{"ipv6 loopback", netip.MustParseAddr("::1"), netip.MustParseAddr("::")},
		{"ipv6 zone dropped", netip.MustParseAddr("fe80::1:2:3:4%eth0"), netip.MustParseAddr("fe80::")},
		{"ipv4-mapped ipv6", netip.MustParseAddr("::ffff:198.51.100.77"), netip.MustParseAddr("198.51.100.0")},
		{"ipv4-compatible ipv6 is ipv6", netip.MustParseAddr("::198.51.100.77"), netip.MustParseAddr("::")},
		{"invalid", netip.Addr{}, netip.Addr{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AnonymizeIP(tc.in); got != tc.want {
				t.Errorf("AnonymizeIP(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestAnonymizeIPString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"ipv4", "203.0.113.9", "203.0.113.0"},
		{"ipv6", "2001:db8:1:2:3:4:5:6", "2001:db8:1::"},
		{"ipv6 upper case", "2001:DB8:1:2::FF", "2001:db8:1::"},
		{"ipv6 with zone", "fe80::1%en0", "fe80::"},
		{"ipv4-mapped ipv6", "::ffff:203.0.113.9", "203.0.113.0"},
		{"empty", "", ""},
		{"garbage", "not an ip", ""},
		{"host and port", "203.0.113.9:443", ""},
		{"bracketed ipv6", "[2001:db8::1]", ""},
		{"leading space", " 203.0.113.9", ""},
		{"ipv4 out of range", "256.1.1.1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AnonymizeIPString(tc.in); got != tc.want {
				t.Errorf("AnonymizeIPString(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func BenchmarkAnonymizeIP(b *testing.B) {
	for _, bc := range []struct {
		name string
		addr netip.Addr
	}{
		{"ipv4", netip.MustParseAddr("192.0.2.123")},
		{"ipv6", netip.MustParseAddr("2001:db8:abcd:12:1:2:3:4")},
		{"ipv4-mapped", netip.MustParseAddr("::ffff:192.0.2.123")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				AnonymizeIP(bc.addr)
			}
		})
	}
}

func BenchmarkAnonymizeIPString(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		AnonymizeIPString("2001:db8:abcd:12:1:2:3:4")
	}
}
