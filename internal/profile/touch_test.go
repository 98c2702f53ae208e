package profile

import (
	"testing"

	"github.com/ecrm/ecrm/internal/event"
)

func TestTouchOf(t *testing.T) {
	const site = "https://shop.example/landing"
	tests := []struct {
		name      string
		utm       map[string]any
		referrer  string
		url       string
		want      string // channel
		wantSrc   string
		wantRefer string
	}{
		{"nothing", nil, "", site, ChannelDirect, "", ""},
		{"internal referrer", nil, "https://shop.example/cart", site, ChannelDirect, "", ""},
		{"internal referrer with www", nil, "https://www.shop.example/", "https://www.shop.example/p/1", ChannelDirect, "", ""},
		{"cpc", map[string]any{"source": "google", "medium": "cpc", "name": "spring"}, "https://www.google.com/", site, ChannelPaid, "google", "google.com"},
		{"ppc", map[string]any{"source": "bing", "medium": "PPC"}, "", site, ChannelPaid, "bing", ""},
		{"paid social", map[string]any{"source": "facebook", "medium": "paid_social"}, "", site, ChannelPaid, "facebook", ""},
		{"gclid without utm", nil, "https://www.google.com/", site + "?gclid=abc", ChannelPaid, "google.com", "google.com"},
		{"email", map[string]any{"source": "newsletter", "medium": "email", "name": "may"}, "", site, ChannelEmail, "newsletter", ""},
		{"newsletter medium", map[string]any{"medium": "newsletter"}, "", site, ChannelEmail, "", ""},
		{"webmail referrer", nil, "https://mail.google.com/mail/u/0/", site, ChannelEmail, "mail.google.com", "mail.google.com"},
		{"social medium", map[string]any{"source": "insta", "medium": "social"}, "", site, ChannelSocial, "insta", ""},
		{"facebook referrer", nil, "https://l.facebook.com/l.php?u=x", site, ChannelSocial, "l.facebook.com", "l.facebook.com"},
		{"t.co referrer", nil, "https://t.co/abc", site, ChannelSocial, "t.co", "t.co"},
		{"google referrer", nil, "https://www.google.co.uk/", site, ChannelSearch, "google.co.uk", "google.co.uk"},
		{"duckduckgo referrer", nil, "https://duckduckgo.com/", site, ChannelSearch, "duckduckgo.com", "duckduckgo.com"},
		{"organic medium", map[string]any{"source": "google", "medium": "organic"}, "", site, ChannelSearch, "google", ""},
		{"other utm", map[string]any{"source": "partner", "medium": "affiliate"}, "https://blog.example/", site, ChannelCampaign, "partner", "blog.example"},
		{"utm term only", map[string]any{"term": "shoes"}, "", site, ChannelCampaign, "", ""},
		{"other referrer", nil, "https://blog.example:8080/post?q=1", site, ChannelReferral, "blog.example", "blog.example"},
		{"unparsable referrer", nil, "::not a url", site, ChannelDirect, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ePage(epoch)
			e.Context = map[string]any{"page": map[string]any{"referrer": tc.referrer, "url": tc.url}}
			if tc.utm != nil {
				e.Context["campaign"] = tc.utm
			}
			got := TouchOf(e, epoch)
			if got.Channel != tc.want || got.Source != tc.wantSrc || got.Referrer != tc.wantRefer {
				t.Errorf("TouchOf(utm %v, referrer %q, url %q) = channel %q, source %q, referrer %q; want %q, %q, %q",
					tc.utm, tc.referrer, tc.url, got.Channel, got.Source, got.Referrer, tc.want, tc.wantSrc, tc.wantRefer)
			}
			if !got.At.Equal(epoch) {
				t.Errorf("TouchOf().At = %v, want %v", got.At, epoch)
			}
		})
	}
}

func TestTouchCampaignFields(t *testing.T) {
	e := ePage(epoch)
	e.Context = map[string]any{"campaign": map[string]any{"source": "news", "medium": "email", "name": "spring-sale", "term": "t", "content": "c"}}
	got := TouchOf(e, epoch)
	want := Touch{At: epoch, Source: "news", Medium: "email", Campaign: "spring-sale", Channel: ChannelEmail}
	if got != want {
		t.Errorf("TouchOf() = %+v, want %+v", got, want)
	}
}

// withTouch returns a page hit at minute m whose context carries the
// campaign source (medium cpc) or, when source is "", nothing.
func withTouch(m int, source string) *event.Event {
	e := ePage(mins(m))
	if source != "" {
		e.Context = map[string]any{"campaign": map[string]any{"source": source, "medium": "cpc"}}
	}
	return e
}

func TestTouchesAtSessionStarts(t *testing.T) {
	tests := []struct {
		name        string
		hits        []*event.Event
		first, last string // sources
	}{
		{"one session", []*event.Event{withTouch(0, "g"), withTouch(5, "")}, "g", "g"},
		{"a campaign mid-session changes nothing", []*event.Event{withTouch(0, ""), withTouch(5, "g")}, "", ""},
		{"two sessions", []*event.Event{withTouch(0, "g"), withTouch(60, "b")}, "g", "b"},
		{"a direct session is the last touch", []*event.Event{withTouch(0, "g"), withTouch(60, "")}, "g", ""},
		{"a late landing hit starts the session", []*event.Event{withTouch(10, ""), withTouch(0, "g")}, "g", "g"},
		{"a late earlier session is the first touch", []*event.Event{withTouch(100, "b"), withTouch(0, "g")}, "g", "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			applyAll(t, p, tc.hits...)
			if p.FirstTouch.Source != tc.first || p.LastTouch.Source != tc.last {
				t.Errorf("first, last touch source = %q, %q; want %q, %q", p.FirstTouch.Source, p.LastTouch.Source, tc.first, tc.last)
			}
			if p.FirstTouch.Channel == "" || p.LastTouch.Channel == "" {
				t.Errorf("touches without channel: %+v, %+v", p.FirstTouch, p.LastTouch)
			}
		})
	}
}

func TestQualify(t *testing.T) {
	p := New("p_1", "a:a1")
	e1 := ePage(mins(10))
	e1.UA = &event.UA{Browser: "Firefox", OS: "Linux", Device: "desktop"}
	e1.Context = map[string]any{"locale": "fr-FR"}
	e1.SiteID = "s1"
	late := ePage(mins(0))
	late.UA = &event.UA{Browser: "Safari", OS: "iOS", Device: "mobile"}
	late.Context = map[string]any{"locale": "en-US"}
	late.SiteID = "s2"
	applyAll(t, p, e1, late)
	want := Device{Type: "desktop", Browser: "Firefox", OS: "Linux"}
	if p.Device != want || p.Locale != "fr-FR" || p.SiteID != "s1" {
		t.Errorf("after a late hit: device %+v, locale %q, site %q; want %+v, fr-FR, s1 (the latest hit's)", p.Device, p.Locale, p.SiteID, want)
	}
	e2 := ePage(mins(20))
	e2.UA = &event.UA{Browser: "Safari", OS: "iOS", Device: "mobile"}
	applyAll(t, p, e2)
	if p.Device.Type != "mobile" || p.Locale != "fr-FR" {
		t.Errorf("after a newer hit: device %+v, locale %q; want mobile, locale kept", p.Device, p.Locale)
	}
}
