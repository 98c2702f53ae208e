package enrich

import "net/netip"

// AnonymizeIP returns addr with its host part zeroed: an IPv4 address keeps
// its first 24 bits (the last octet becomes 0) and an IPv6 address keeps its
// first 48 bits. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as
// the IPv4 address it carries and is returned in its 4-byte form. Any IPv6
// zone is dropped. An invalid (zero) addr yields the zero Addr.
func AnonymizeIP(addr netip.Addr) netip.Addr {
	switch {
	case addr.Is4() || addr.Is4In6():
		a := addr.Unmap().As4()
		a[3] = 0
		return netip.AddrFrom4(a)
	case addr.Is6():
		a := addr.As16()
		clear(a[6:])
		return netip.AddrFrom16(a)
	default:
		return netip.Addr{}
	}
}

// AnonymizeIPString parses s as an IP address (as netip.ParseAddr does) and
// returns the text form of AnonymizeIP applied to it. It returns "" if s is
// not an IP address; in particular, "host:port" forms are not accepted.
func AnonymizeIPString(s string) string {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	return AnonymizeIP(addr).String()
}
