// Package enrich derives the privacy-safe facts the collector adds to every
// hit: the anonymised client IP, the parsed user agent and a bot flag.
//
// AnonymizeIP truncates an address before anything is written (IPv4 to its
// /24, IPv6 to its /48). A Parser turns a User-Agent header into a UserAgent
// (browser, version, OS family, device class, bot flag) and caches results,
// because a handful of user-agent strings make up most of the traffic. IsBot
// is the bot test that Parse uses, available on its own.
//
// The package imports no HTTP or Kafka code; callers pass it plain strings
// and net/netip addresses.
package enrich
