package site

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestSiteValidate(t *testing.T) {
	tests := []struct {
		name    string
		site    Site
		wantErr bool
	}{
		{"minimal", Site{ID: "shop", WriteKey: "wk-1"}, false},
		{"demo", Demo, false},
		{"every field", Site{ID: "shop", WriteKey: "wk-1", Origins: []string{"https://shop.example", "http://localhost:8080", "https://*.shop.example", "*"},
			RequireConsent: true, ConsentPolicy: PolicyAnonymize, HonorDNT: true, HonorGPC: true}, false},
		{"policy drop", Site{ID: "shop", WriteKey: "wk-1", ConsentPolicy: PolicyDrop}, false},
		{"id of 64 bytes", Site{ID: strings.Repeat("s", 64), WriteKey: "wk-1"}, false},
		{"key of 4 bytes", Site{ID: "shop", WriteKey: "abcd"}, false},
		{"key of 128 bytes", Site{ID: "shop", WriteKey: strings.Repeat("k", 128)}, false},

		{"empty id", Site{WriteKey: "wk-1"}, true},
		{"id of 65 bytes", Site{ID: strings.Repeat("s", 65), WriteKey: "wk-1"}, true},
		{"id with space", Site{ID: "my shop", WriteKey: "wk-1"}, true},
		{"id with slash", Site{ID: "my/shop", WriteKey: "wk-1"}, true},
		{"id with backslash", Site{ID: `my\shop`, WriteKey: "wk-1"}, true},
		{"id with colon", Site{ID: "site:shop", WriteKey: "wk-1"}, true},
		{"empty key", Site{ID: "shop"}, true},
		{"key of 3 bytes", Site{ID: "shop", WriteKey: "abc"}, true},
		{"key of 129 bytes", Site{ID: "shop", WriteKey: strings.Repeat("k", 129)}, true},
		{"unknown policy", Site{ID: "shop", WriteKey: "wk-1", ConsentPolicy: "maybe"}, true},
		{"policy in capitals", Site{ID: "shop", WriteKey: "wk-1", ConsentPolicy: "DROP"}, true},
		{"origin without scheme", Site{ID: "shop", WriteKey: "wk-1", Origins: []string{"shop.example"}}, true},
		{"origin with another scheme", Site{ID: "shop", WriteKey: "wk-1", Origins: []string{"ftp://shop.example"}}, true},
		{"one bad origin among good ones", Site{ID: "shop", WriteKey: "wk-1", Origins: []string{"https://shop.example", "*.shop.example"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.site.Validate()
			if (err != nil) != tc.wantErr {
				t.Errorf("%+v.Validate() = %v, want error %t", tc.site, err, tc.wantErr)
			}
		})
	}
}

func TestSiteAllowsOrigin(t *testing.T) {
	shop := []string{"https://shop.example"}
	wild := []string{"https://*.shop.example"}
	tests := []struct {
		name    string
		origins []string
		origin  string
		want    bool
	}{
		{"empty list allows any", nil, "https://anything.example", true},
		{"empty list allows no origin", nil, "", true},
		{"no origin (server-side library)", shop, "", true},
		{"exact", shop, "https://shop.example", true},
		{"exact, other case", shop, "HTTPS://Shop.Example", true},
		{"other host", shop, "https://evil.example", false},
		{"other scheme", shop, "http://shop.example", false},
		{"other port", shop, "https://shop.example:8443", false},
		{"subdomain of an exact origin", shop, "https://www.shop.example", false},
		{"suffix of the host", shop, "https://shop.example.evil.test", false},
		{"opaque origin", shop, "null", false},
		{"second of several", []string{"https://a.example", "https://shop.example"}, "https://shop.example", true},

		{"wildcard: subdomain", wild, "https://www.shop.example", true},
		{"wildcard: deeper subdomain", wild, "https://a.b.shop.example", true},
		{"wildcard: subdomain, other case", wild, "https://WWW.Shop.Example", true},
		{"wildcard in other case", []string{"https://*.Shop.Example"}, "https://www.shop.example", true},
		{"wildcard: the apex", wild, "https://shop.example", false},
		{"wildcard: lookalike host", wild, "https://evilshop.example", false},
		{"wildcard: suffix attack", wild, "https://www.shop.example.evil.test", false},
		{"wildcard: http", wild, "http://www.shop.example", false},

		{"star", []string{"*"}, "https://anything.example", true},
		{"star among others", []string{"https://shop.example", "*"}, "http://localhost:3000", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Site{ID: "shop", WriteKey: "wk-1", Origins: tc.origins}
			if got := s.AllowsOrigin(tc.origin); got != tc.want {
				t.Errorf("Site{Origins: %q}.AllowsOrigin(%q) = %t, want %t", tc.origins, tc.origin, got, tc.want)
			}
		})
	}
}

// mustPut puts sites in r and fails the test on an error.
func mustPut(tb testing.TB, r *Registry, sites ...Site) {
	tb.Helper()
	for _, s := range sites {
		if err := r.Put(s); err != nil {
			tb.Fatalf("Put(%+v) = %v, want no error", s, err)
		}
	}
}

// ids returns the ids of sites in order.
func ids(sites []Site) []string {
	out := make([]string, 0, len(sites))
	for _, s := range sites {
		out = append(out, s.ID)
	}
	return out
}

func TestRegistryZeroValue(t *testing.T) {
	var r Registry
	if _, err := r.ByWriteKey("wk-1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("ByWriteKey(%q) on an empty registry = %v, want %v", "wk-1", err, ErrUnknownKey)
	}
	if got := r.List(); len(got) != 0 {
		t.Errorf("List() on an empty registry = %v, want none", got)
	}
	if r.Delete("shop") {
		t.Errorf("Delete(%q) on an empty registry = true, want false", "shop")
	}
}

func TestRegistryPutAndByWriteKey(t *testing.T) {
	var r Registry
	shop := Site{ID: "shop", WriteKey: "wk-shop", Origins: []string{"https://shop.example"}, RequireConsent: true}
	blog := Site{ID: "blog", WriteKey: "wk-blog"}
	mustPut(t, &r, shop, blog)

	for _, want := range []Site{shop, blog} {
		got, err := r.ByWriteKey(want.WriteKey)
		if err != nil || !sameSite(got, want) {
			t.Errorf("ByWriteKey(%q) = %+v, %v, want %+v", want.WriteKey, got, err, want)
		}
	}
	for _, key := range []string{"", "wk", "WK-SHOP", "wk-shop "} {
		if got, err := r.ByWriteKey(key); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("ByWriteKey(%q) = %+v, %v, want %v", key, got, err, ErrUnknownKey)
		}
	}
	if got, want := ids(r.List()), []string{"blog", "shop"}; !slices.Equal(got, want) {
		t.Errorf("List() ids = %q, want %q (ordered by id)", got, want)
	}
}

func TestRegistryPutInvalid(t *testing.T) {
	var r Registry
	bad := Site{ID: "shop", WriteKey: "wk"}
	if err := r.Put(bad); err == nil {
		t.Errorf("Put(%+v) = nil, want an error", bad)
	}
	if _, err := r.ByWriteKey("wk"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("ByWriteKey(%q) after a refused Put = %v, want %v", "wk", err, ErrUnknownKey)
	}
}

func TestRegistryReplace(t *testing.T) {
	var r Registry
	mustPut(t, &r, Site{ID: "shop", WriteKey: "wk-old"})
	mustPut(t, &r, Site{ID: "shop", WriteKey: "wk-new", HonorDNT: true})

	if _, err := r.ByWriteKey("wk-old"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("ByWriteKey(old key) after the key changed = %v, want %v", err, ErrUnknownKey)
	}
	got, err := r.ByWriteKey("wk-new")
	if err != nil || got.ID != "shop" || !got.HonorDNT {
		t.Errorf("ByWriteKey(new key) = %+v, %v, want the replaced site", got, err)
	}
	if n := len(r.List()); n != 1 {
		t.Errorf("len(List()) after replacing a site = %d, want 1", n)
	}

	// Same key, new settings.
	mustPut(t, &r, Site{ID: "shop", WriteKey: "wk-new", HonorGPC: true})
	got, _ = r.ByWriteKey("wk-new")
	if got.HonorDNT || !got.HonorGPC {
		t.Errorf("ByWriteKey after an update = %+v, want HonorGPC only", got)
	}
}

func TestRegistryKeyTaken(t *testing.T) {
	var r Registry
	shop := Site{ID: "shop", WriteKey: "wk-shop"}
	mustPut(t, &r, shop)

	thief := Site{ID: "thief", WriteKey: "wk-shop"}
	err := r.Put(thief)
	if !errors.Is(err, ErrKeyTaken) {
		t.Fatalf("Put(%+v) = %v, want %v", thief, err, ErrKeyTaken)
	}
	if !strings.Contains(err.Error(), "shop") {
		t.Errorf("Put(%+v) = %q, want the message to name the site that has the key", thief, err)
	}
	if got, _ := r.ByWriteKey("wk-shop"); got.ID != "shop" {
		t.Errorf("ByWriteKey(%q) after a refused Put = site %q, want %q", "wk-shop", got.ID, "shop")
	}
	if got := ids(r.List()); !slices.Equal(got, []string{"shop"}) {
		t.Errorf("List() ids after a refused Put = %q, want [shop]", got)
	}
}

func TestRegistryDelete(t *testing.T) {
	var r Registry
	mustPut(t, &r, Site{ID: "shop", WriteKey: "wk-shop"}, Site{ID: "blog", WriteKey: "wk-blog"})

	if !r.Delete("shop") {
		t.Errorf("Delete(%q) = false, want true", "shop")
	}
	if r.Delete("shop") {
		t.Errorf("Delete(%q) a second time = true, want false", "shop")
	}
	if r.Delete("nope") {
		t.Errorf("Delete(%q) = true, want false", "nope")
	}
	if _, err := r.ByWriteKey("wk-shop"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("ByWriteKey(%q) after Delete = %v, want %v", "wk-shop", err, ErrUnknownKey)
	}
	if _, err := r.ByWriteKey("wk-blog"); err != nil {
		t.Errorf("ByWriteKey(%q) of the other site after Delete = %v, want no error", "wk-blog", err)
	}
	// The key is free again.
	mustPut(t, &r, Site{ID: "shop2", WriteKey: "wk-shop"})
}

func TestRegistryConcurrent(t *testing.T) {
	var r Registry
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				s := Site{ID: fmt.Sprintf("s%d", i), WriteKey: fmt.Sprintf("wk-%d-%d", i, j%3)}
				if err := r.Put(s); err != nil {
					t.Errorf("Put(%+v) = %v", s, err)
					return
				}
				_, _ = r.ByWriteKey(s.WriteKey)
				_ = r.List()
			}
		})
	}
	wg.Wait()
	if n := len(r.List()); n != 8 {
		t.Errorf("len(List()) = %d, want 8 (one per id)", n)
	}
}

func sameSite(a, b Site) bool {
	return a.ID == b.ID && a.WriteKey == b.WriteKey && slices.Equal(a.Origins, b.Origins) &&
		a.RequireConsent == b.RequireConsent && a.ConsentPolicy == b.ConsentPolicy &&
		a.HonorDNT == b.HonorDNT && a.HonorGPC == b.HonorGPC
}
