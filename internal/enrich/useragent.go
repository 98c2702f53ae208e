package enrich

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/mssola/useragent"
)

// MaxUALength is the number of bytes of a User-Agent that Parse and IsBot
// look at. Longer strings are cut, at a UTF-8 character boundary, before they
// are parsed or cached; real browsers send well under this.
const MaxUALength = 512

// Device classes reported in UserAgent.Device.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceBot     = "bot"
	DeviceUnknown = "unknown"
)

// UserAgent is what the collector records about a client's User-Agent.
type UserAgent struct {
	// Browser is the browser or client name, such as "Chrome", "Safari",
	// "Samsung Internet", "Googlebot" or "curl"; empty if none was found.
	Browser string `json:"browser"`
	// Version is the browser's version as the User-Agent states it, such as
	// "120.0.0.0"; empty if none was found.
	Version string `json:"version"`
	// OS is the operating-system family: "Windows", "macOS", "iOS",
	// "Android", "Linux", "ChromeOS" or "Windows Phone"; empty if unknown.
	OS string `json:"os"`
	// Device is one of DeviceDesktop, DeviceMobile, DeviceTablet, DeviceBot
	// and DeviceUnknown.
	Device string `json:"device"`
	// Bot reports whether the client is a bot (see IsBot). Device is
	// DeviceBot exactly when Bot is true.
	Bot bool `json:"bot,omitempty"`
}

// parse parses ua, which must be at most MaxUALength bytes long, without a
// cache. The result shares no memory with ua, so ua may be a view of a
// reused request buffer.
func parse(ua string) UserAgent {
	var buf [MaxUALength]byte
	lower := lowerASCII(&buf, ua)
	if len(bytes.TrimSpace(lower)) == 0 {
		return UserAgent{Device: DeviceBot, Bot: true}
	}

	var m useragent.UserAgent
	m.Parse(ua)
	name, version := m.Browser()
	name, version = fixBrowser(ua, name, version)
	out := UserAgent{Browser: name, Version: version, OS: osFamily(lower)}
	if m.Bot() || matchBot(lower) {
		out.Bot = true
		out.Device = DeviceBot
	} else {
		out.Device = deviceClass(lower, m.Mobile())
	}
	return out
}

// browserTokens are browsers that github.com/mssola/useragent reports as the
// Chrome or Safari they are built on: the token that gives each away, its
// name, and the product token whose version is the browser's version.
var browserTokens = []struct{ token, name, version string }{
	{"SamsungBrowser/", "Samsung Internet", "SamsungBrowser/"},
	{"EdgA/", "Edge", "EdgA/"},
	{"EdgiOS/", "Edge", "EdgiOS/"},
	{"UCBrowser/", "UC Browser", "UCBrowser/"},
	{"Vivaldi/", "Vivaldi", "Vivaldi/"},
	// In-app browsers on Android (Instagram, Facebook, ...): mssola says
	// "Android" version "4.0" from their "Version/4.0" token.
	{"; wv)", "Android WebView", "Chrome/"},
}

// fixBrowser returns the browser named by a token in browserTokens if ua
// holds one, and name and version otherwise.
func fixBrowser(ua, name, version string) (string, string) {
	for _, t := range browserTokens {
		if !strings.Contains(ua, t.token) {
			continue
		}
		return t.name, productVersion(ua, t.version)
	}
	return name, version
}

// productVersion returns a copy of the version that follows product (such as
// "Chrome/") in ua, up to the next space, semicolon or parenthesis; or "" if
// ua does not hold product.
func productVersion(ua, product string) string {
	i := strings.Index(ua, product)
	if i < 0 {
		return ""
	}
	v := ua[i+len(product):]
	if j := strings.IndexAny(v, " ;()"); j >= 0 {
		v = v[:j]
	}
	return strings.Clone(v)
}

// osFamily returns the operating-system family named in the lower-cased
// User-Agent lower, or "". The order matters: iOS user agents say "like Mac
// OS X", Android ones say "Linux", Windows Phone ones say "Android".
func osFamily(lower []byte) string {
	switch {
	case bytes.Contains(lower, []byte("windows phone")):
		return "Windows Phone"
	case bytes.Contains(lower, []byte("android")):
		return "Android"
	case bytes.Contains(lower, []byte("iphone")),
		bytes.Contains(lower, []byte("ipad")),
		bytes.Contains(lower, []byte("ipod")):
		return "iOS"
	case bytes.Contains(lower, []byte("cros ")):
		return "ChromeOS"
	case bytes.Contains(lower, []byte("windows")):
		return "Windows"
	case bytes.Contains(lower, []byte("macintosh")),
		bytes.Contains(lower, []byte("mac os x")):
		return "macOS"
	case bytes.Contains(lower, []byte("linux")),
		bytes.Contains(lower, []byte("x11")):
		return "Linux"
	}
	return ""
}

// deviceClass returns the device class of a person's browser from the
// lower-cased User-Agent lower and the mobile flag of
// github.com/mssola/useragent. Android without "Mobile" is a tablet, as
// Google's guidance for Android browsers has it. An iPad that asks for
// desktop sites (the default since iPadOS 13) sends a Mac User-Agent and is
// reported as a desktop: nothing in the string tells them apart.
func deviceClass(lower []byte, mobile bool) string {
	android := bytes.Contains(lower, []byte("android"))
	hasMobile := bytes.Contains(lower, []byte("mobile"))
	switch {
	case bytes.Contains(lower, []byte("ipad")),
		android && !hasMobile:
		return DeviceTablet
	case mobile, hasMobile, android,
		bytes.Contains(lower, []byte("iphone")),
		bytes.Contains(lower, []byte("ipod")),
		bytes.Contains(lower, []byte("windows phone")):
		return DeviceMobile
	case bytes.Contains(lower, []byte("windows")),
		bytes.Contains(lower, []byte("macintosh")),
		bytes.Contains(lower, []byte("x11")),
		bytes.Contains(lower, []byte("cros ")),
		bytes.Contains(lower, []byte("linux")):
		return DeviceDesktop
	}
	return DeviceUnknown
}

// truncate cuts ua to at most MaxUALength bytes without splitting a UTF-8
// character.
func truncate(ua string) string {
	if len(ua) <= MaxUALength {
		return ua
	}
	i := MaxUALength
	for i > 0 && !utf8.RuneStart(ua[i]) {
		i--
	}
	return ua[:i]
}
