package profile

import (
	"net/url"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// Channels a touch is classified into, see [Touch].
const (
	ChannelPaid     = "paid"
	ChannelEmail    = "email"
	ChannelSocial   = "social"
	ChannelSearch   = "search"
	ChannelReferral = "referral"
	ChannelCampaign = "campaign"
	ChannelDirect   = "direct"
)

// Touch is how a visit began: the campaign (UTM) and referrer of the hit
// that started a session.
//
// Channel is derived, first rule that matches:
//
//   - "paid": utm_medium cpc, ppc, cpm or paid* (paid_social, paidsearch,
//     ...), or an ad click id (gclid, dclid, msclkid) in the page's query;
//   - "email": utm_medium email, e-mail or newsletter, or a webmail referrer
//     (mail.*, outlook.*);
//   - "social": utm_medium social (social-network, social_media, sm), or a
//     known social network's referrer (facebook, instagram, t.co, x.com,
//     linkedin, pinterest, reddit, youtube, tiktok, ...);
//   - "search": utm_medium organic, or a known search engine's referrer
//     (google, bing, yahoo, duckduckgo, baidu, yandex, ecosia, qwant, ...);
//   - "campaign": any other UTM parameter;
//   - "referral": any other referrer;
//   - "direct": neither UTM nor referrer.
//
// A referrer on the page's own host (internal navigation) is no referrer.
type Touch struct {
	// At is when the session began.
	At time.Time `json:"at,omitzero"`
	// Source is utm_source, else the referrer's host, else "".
	Source string `json:"source,omitempty"`
	// Medium is utm_medium as given.
	Medium string `json:"medium,omitempty"`
	// Campaign is utm_campaign (context.campaign.name).
	Campaign string `json:"campaign,omitempty"`
	// Referrer is the referrer's host, without "www.".
	Referrer string `json:"referrer,omitempty"`
	Channel  string `json:"channel,omitempty"`
}

// Device is the device, browser and operating system of the latest hit,
// as the collector parsed its user agent.
type Device struct {
	// Type is one of desktop, mobile, tablet, bot and unknown.
	Type    string `json:"type,omitempty"`
	Browser string `json:"browser,omitempty"`
	OS      string `json:"os,omitempty"`
}

// TouchOf returns the touch of hit e at time at, the start of its session.
func TouchOf(e *event.Event, at time.Time) Touch {
	t := Touch{At: at}
	c := obj(e.Context, "campaign")
	t.Source, t.Medium, t.Campaign = text(str(c, "source")), text(str(c, "medium")), text(str(c, "name"))
	utm := t.Source != "" || t.Medium != "" || t.Campaign != "" || str(c, "term") != "" || str(c, "content") != ""
	page := obj(e.Context, "page")
	t.Referrer = referrerHost(str(page, "referrer"), str(page, "url"))
	if t.Source == "" {
		t.Source = t.Referrer
	}
	medium := strings.ToLower(t.Medium)
	switch {
	case medium == "cpc" || medium == "ppc" || medium == "cpm" || strings.HasPrefix(medium, "paid"):
		t.Channel = ChannelPaid
	case !utm && adClick(page):
		t.Channel = ChannelPaid
	case medium == "email" || medium == "e-mail" || medium == "newsletter":
		t.Channel = ChannelEmail
	case medium == "social" || medium == "social-network" || medium == "social_media" || medium == "social-media" || medium == "sm":
		t.Channel = ChannelSocial
	case medium == "organic":
		t.Channel = ChannelSearch
	case utm:
		t.Channel = ChannelCampaign
	case t.Referrer != "":
		t.Channel = hostChannel(t.Referrer)
	default:
		t.Channel = ChannelDirect
	}
	return t
}

// referrerHost returns the host of referrer, lower case and without "www."
// or port, or "" when there is none or it is the page's own host.
func referrerHost(referrer, page string) string {
	host := hostOf(referrer)
	if host == "" || host == hostOf(page) {
		return ""
	}
	return boundedKey(host)
}

func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}

// adClick reports whether the page's query holds an ad network's click id,
// which auto-tagged ads carry instead of UTM parameters.
func adClick(page map[string]any) bool {
	q := str(page, "search")
	if q == "" {
		if u, err := url.Parse(str(page, "url")); err == nil {
			q = u.RawQuery
		}
	}
	v, err := url.ParseQuery(strings.TrimPrefix(q, "?"))
	return err == nil && (v.Has("gclid") || v.Has("dclid") || v.Has("msclkid") || v.Has("gbraid") || v.Has("wbraid"))
}

// Hosts known by name: those whose registrable name alone would be
// ambiguous are listed whole.
var (
	socialHosts = map[string]bool{"t.co": true, "x.com": true, "wa.me": true, "t.me": true, "youtu.be": true, "fb.me": true, "lnkd.in": true, "bsky.app": true, "threads.net": true, "mastodon.social": true}
	socialNames = map[string]bool{"facebook": true, "instagram": true, "twitter": true, "linkedin": true, "pinterest": true, "reddit": true, "youtube": true, "tiktok": true, "snapchat": true, "whatsapp": true, "telegram": true, "tumblr": true, "vk": true, "quora": true, "weibo": true, "xing": true, "discord": true}
	searchNames = map[string]bool{"google": true, "bing": true, "yahoo": true, "duckduckgo": true, "baidu": true, "yandex": true, "ecosia": true, "qwant": true, "startpage": true, "naver": true, "seznam": true, "sogou": true, "ask": true, "aol": true, "brave": true, "kagi": true}
)

// hostChannel classifies a referrer host: email, social, search or referral.
func hostChannel(host string) string {
	if strings.HasPrefix(host, "mail.") || strings.HasPrefix(host, "webmail.") || strings.HasPrefix(host, "outlook.") {
		return ChannelEmail
	}
	if socialHosts[host] {
		return ChannelSocial
	}
	labels := strings.Split(host, ".")
	if len(labels) > 1 {
		labels = labels[:len(labels)-1] // the top-level domain names nothing
	}
	for _, l := range labels {
		switch {
		case socialNames[l]:
			return ChannelSocial
		case searchNames[l]:
			return ChannelSearch
		}
	}
	return ChannelReferral
}

// qualify records the device, browser, OS, locale and site of hit e when
// it is the profile's latest.
func (p *Profile) qualify(e *event.Event, latest bool) {
	if !latest {
		return
	}
	if e.UA != nil {
		if e.UA.Device != "" {
			p.Device.Type = boundedKey(e.UA.Device)
		}
		if e.UA.Browser != "" {
			p.Device.Browser = boundedKey(e.UA.Browser)
		}
		if e.UA.OS != "" {
			p.Device.OS = boundedKey(e.UA.OS)
		}
	}
	if l := str(e.Context, "locale"); l != "" {
		p.Locale = boundedKey(l)
	}
	if e.SiteID != "" {
		p.SiteID = boundedKey(e.SiteID)
	}
}

// touch updates the first and last touch after hit e at t began a session
// (started) or moved the start of its session earlier, from prev.
func (p *Profile) touch(e *event.Event, t time.Time, v visit) {
	if v.kind == visitNone {
		return
	}
	tc := TouchOf(e, t)
	if p.FirstTouch.At.IsZero() || t.Before(p.FirstTouch.At) || v.kind == visitMoved && p.FirstTouch.At.Equal(v.prev) {
		p.FirstTouch = tc
	}
	if p.LastTouch.At.IsZero() || !t.Before(p.LastTouch.At) || v.kind == visitMoved && p.LastTouch.At.Equal(v.prev) {
		p.LastTouch = tc
	}
}

// absorbQualification keeps the device, locale and site of the profile
// seen last, each filled from the other when missing. It must run before
// p's LastSeen takes other's in.
func (p *Profile) absorbQualification(o *Profile) {
	if o.LastSeen.After(p.LastSeen) {
		if o.Device != (Device{}) {
			p.Device = o.Device
		}
		if o.Locale != "" {
			p.Locale = o.Locale
		}
		if o.SiteID != "" {
			p.SiteID = o.SiteID
		}
		return
	}
	if p.Device == (Device{}) {
		p.Device = o.Device
	}
	if p.Locale == "" {
		p.Locale = o.Locale
	}
	if p.SiteID == "" {
		p.SiteID = o.SiteID
	}
}

// absorbTouches keeps the earliest first touch and, for the last touch,
// the earliest of the two in the latest session (the login visit was
// begun by the anonymous side), else the latest. It must run after the
// sessions are merged.
func (p *Profile) absorbTouches(o *Profile) {
	if !o.FirstTouch.At.IsZero() && (p.FirstTouch.At.IsZero() || o.FirstTouch.At.Before(p.FirstTouch.At)) {
		p.FirstTouch = o.FirstTouch
	}
	a, b := p.LastTouch, o.LastTouch
	switch cur := p.Sessions.Current(); {
	case b.At.IsZero():
	case a.At.IsZero():
		p.LastTouch = b
	case !cur.Start.IsZero() && !b.At.Before(cur.Start) && (a.At.Before(cur.Start) || b.At.Before(a.At)):
		p.LastTouch = b // in the latest session, and it began it
	case (cur.Start.IsZero() || b.At.Before(cur.Start) && a.At.Before(cur.Start)) && b.At.After(a.At):
		p.LastTouch = b
	}
}
