package identity

import (
	"regexp"
	"strings"
	"testing"
)

// adaHash is the identifier of ada.lovelace@example.com: "e:" and the
// SHA-256 of the address (computed with sha256sum).
const adaHash = "e:e814ff3dc480a94c7ce9334062ec4733c75a002f4bcec0197f62ffea64059e2f"

var (
	emailIDRe   = regexp.MustCompile(`^e:[0-9a-f]{64}$`)
	profileIDRe = regexp.MustCompile(`^p_[0-9a-f]{20}$`)
)

func TestValid(t *testing.T) {
	tests := []struct {
		id    string
		extra map[string]bool
		want  bool
	}{
		// Each placeholder of the built-in list.
		{"", nil, false},
		{"null", nil, false},
		{"undefined", nil, false},
		{"0", nil, false},
		{"-1", nil, false},
		{"anonymous", nil, false},
		{"none", nil, false},
		{"nil", nil, false},
		{"nan", nil, false},
		{"[object object]", nil, false},
		{"unknown", nil, false},
		{"guest", nil, false},
		{"false", nil, false},
		{"true", nil, false},

		// Case and space variants.
		{"NULL", nil, false},
		{"Null", nil, false},
		{"UNDEFINED", nil, false},
		{"NaN", nil, false},
		{"[object Object]", nil, false},
		{"Anonymous", nil, false},
		{" null", nil, false},
		{"null ", nil, false},
		{"\tundefined\n", nil, false},
		{"  0  ", nil, false},
		{" ", nil, false},
		{"\t\r\n", nil, false},
		{" Guest ", nil, false},
		{"   [OBJECT OBJECT]   ", nil, false},
		{"UN\u212ANOWN", nil, false}, // the Kelvin sign lower-cases to k
		{"\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A", map[string]bool{"kkkkkkkkkkkkkkkk": true}, false},

		// Real ids, including ones that merely look like placeholders.
		{"u1", nil, true},
		{"alice", nil, true},
		{"42", nil, true},
		{"00", nil, true},
		{"-2", nil, true},
		{"nullable", nil, true},
		{"null-user", nil, true},
		{"guest-42", nil, true},
		{"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", nil, true},
		{"0B1C2D3E-4F50-4617-8293-A4B5C6D7E8F9", nil, true},
		{"[object object]x", nil, true},
		{"\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A\u212A", nil, true},
		{"ada@example.com", nil, true},
		{"é", nil, true},

		// The site's own list, given lower case and trimmed as the
		// profiler builds it.
		{"test-user", map[string]bool{"test-user": true}, false},
		{"Test-User", map[string]bool{"test-user": true}, false},
		{" TEST-USER ", map[string]bool{"test-user": true}, false},
		{"test-user-2", map[string]bool{"test-user": true}, true},
		{"alice", map[string]bool{"test-user": true}, true},
		{"null", map[string]bool{"test-user": true}, false},
		{"", map[string]bool{}, false},
		{"alice", map[string]bool{}, true},
	}
	for _, tc := range tests {
		if got := Valid(tc.id, tc.extra); got != tc.want {
			t.Errorf("Valid(%q, %v) = %v, want %v", tc.id, tc.extra, got, tc.want)
		}
	}
}

func TestUserAnonymous(t *testing.T) {
	if got, want := User("alice"), "u:alice"; got != want {
		t.Errorf("User(%q) = %q, want %q", "alice", got, want)
	}
	if got, want := Anonymous("a1"), "a:a1"; got != want {
		t.Errorf("Anonymous(%q) = %q, want %q", "a1", got, want)
	}
	if User("x") == Anonymous("x") {
		t.Errorf("User(%q) = Anonymous(%q) = %q, want them to differ", "x", "x", User("x"))
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when in is not an address
	}{
		{"ada.lovelace@example.com", "ada.lovelace@example.com"},
		{"Ada.Lovelace@Example.COM", "ada.lovelace@example.com"},
		{"  ada.lovelace@example.com  ", "ada.lovelace@example.com"},
		{"\tADA.LOVELACE@EXAMPLE.COM\n", "ada.lovelace@example.com"},
		{"ada+news@mail.example.co.uk", "ada+news@mail.example.co.uk"},
		{"a@b.c", "a@b.c"},
		{"élodie@exemple.fr", "élodie@exemple.fr"},

		{"", ""},
		{"   ", ""},
		{"ada", ""},
		{"ada.example.com", ""},
		{"@example.com", ""},
		{"ada@", ""},
		{"ada@ ", ""},
		{"ada@example", ""},
		{"ada@localhost", ""},
		{"ada@@example.com", ""},
		{"ada@home@example.com", ""},
		{"ada lovelace@example.com", ""},
		{"ada@exa mple.com", ""},
		{"ada@example.com\nbcc@evil.example", ""},
		{"ada\t@example.com", ""},
		{"null", ""},
		{"undefined", ""},
	}
	for _, tc := range tests {
		got, ok := NormalizeEmail(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.want != "")
		}
	}
}

func TestEmail(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when in is not an address
	}{
		{"ada.lovelace@example.com", adaHash},
		{"Ada.Lovelace@Example.com", adaHash},
		{"ADA.LOVELACE@EXAMPLE.COM", adaHash},
		{" ada.lovelace@example.com\t", adaHash},
		{"ada@example", ""},
		{"not an address", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := Email(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Email(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.want != "")
		}
	}

	// Every hash is "e:" and 64 lower-case hex digits (so it holds
	// nothing of the address), stable, and distinct for distinct addresses.
	seen := map[string]string{}
	for _, addr := range []string{"a@b.co", "b@b.co", "ada.lovelace@example.com", "grace.hopper@navy.mil", "x+y@z.example"} {
		got, ok := Email(addr)
		if !ok || !emailIDRe.MatchString(got) {
			t.Errorf("Email(%q) = %q, %v, want \"e:\" and 64 hex digits", addr, got, ok)
			continue
		}
		if again, _ := Email(addr); again != got {
			t.Errorf("Email(%q) = %q, then %q, want it stable", addr, got, again)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("Email(%q) = Email(%q) = %q, want them to differ", addr, prev, got)
		}
		seen[got] = addr
	}
}

func TestProfileID(t *testing.T) {
	// Profile ids are stored (Kafka keys, Pebble, the console's links):
	// the scheme must not change without a migration.
	if got, want := ProfileID("u:alice"), "p_a78de5d74990c02de2ae"; got != want {
		t.Errorf("ProfileID(%q) = %q, want %q", "u:alice", got, want)
	}

	keys := []string{"u:alice", "u:bob", "a:alice", "u:Alice", "u:alice ", "e:" + strings.Repeat("0", 64), "u:", ""}
	seen := map[string]string{}
	for _, k := range keys {
		got := ProfileID(k)
		if !profileIDRe.MatchString(got) || !strings.HasPrefix(got, PrefixProfile) {
			t.Errorf("ProfileID(%q) = %q, want %q and 20 hex digits", k, got, PrefixProfile)
		}
		if again := ProfileID(k); again != got {
			t.Errorf("ProfileID(%q) = %q, then %q, want it stable", k, got, again)
		}
		if len(k) > 2 && strings.Contains(got, k[2:]) {
			t.Errorf("ProfileID(%q) = %q, which reveals the key", k, got)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("ProfileID(%q) = ProfileID(%q) = %q, want them to differ", k, prev, got)
		}
		seen[got] = k
	}
}

func TestLookup(t *testing.T) {
	hash := strings.TrimPrefix(adaHash, PrefixEmail)
	tests := []struct {
		in   string
		want string // "" when in is refused
	}{
		// User and anonymous ids are kept as given.
		{"u:alice", "u:alice"},
		{"u:42", "u:42"},
		{"u:Alice Smith", "u:Alice Smith"},
		{"a:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "a:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"},
		// An address is hashed; a hash is kept.
		{"e:ada.lovelace@example.com", adaHash},
		{"e:Ada.Lovelace@EXAMPLE.com", adaHash},
		{"e: ada.lovelace@example.com ", adaHash},
		{adaHash, adaHash},
		// Profile ids are kept.
		{"p_a78de5d74990c02de2ae", "p_a78de5d74990c02de2ae"},
		{ProfileID("u:bob"), ProfileID("u:bob")},

		// Placeholder ids identify no one.
		{"u:null", ""},
		{"u:undefined", ""},
		{"u:0", ""},
		{"u:-1", ""},
		{"u:NULL", ""},
		{"u: null ", ""},
		{"a:anonymous", ""},
		{"a:undefined", ""},
		{"a:[object Object]", ""},
		{"u:", ""},
		{"a:", ""},
		// Not an address, and not a full hash.
		{"e:", ""},
		{"e:null", ""},
		{"e:ada", ""},
		{"e:ada@localhost", ""},
		{"e:" + hash[:63], ""},
		{"e:" + hash + "0", ""},
		{"e:" + strings.Repeat("g", 64), ""},
		{"p_", ""},
		// No known prefix.
		{"", ""},
		{"alice", ""},
		{"ada.lovelace@example.com", ""},
		{hash, ""},
		{"x:alice", ""},
		{"U:alice", ""},
		{"A:a1", ""},
		{"user:alice", ""},
		{":alice", ""},
		{"p-abc", ""},
	}
	for _, tc := range tests {
		got, ok := Lookup(tc.in)
		if ok != (tc.want != "") || (ok && got != tc.want) {
			t.Errorf("Lookup(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.want != "")
		}
	}
}

func BenchmarkValidUUID(b *testing.B) {
	for range b.N {
		if !Valid("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", nil) {
			b.Fatal("invalid")
		}
	}
}
