package profiler_test

import (
	"slices"
	"testing"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/profile"
)

func hasIDs(p *profile.Profile, ids ...string) bool {
	if p == nil {
		return false
	}
	for _, id := range ids {
		if !slices.Contains(p.IDs, id) {
			return false
		}
	}
	return true
}

func email(addr string) string {
	id, _ := identity.Email(addr)
	return id
}

// TestIdentityRules runs each identity rule of DESIGN.md through the real
// pipeline: hits on the embedded broker, a profiler member, and the
// profiles and identities topics it publishes.
func TestIdentityRules(t *testing.T) {
	h := mustHarness(t, 4)
	h.start(t, "m1")

	t.Run("login links the anonymous visitor", func(t *testing.T) {
		h.send(t, page("a-login", ""), page("a-login", ""), identify("a-login", "u-login", nil))
		s := h.settle(t, "login", func(s state) bool {
			p := s.byID("u:u-login")
			return hasIDs(p, "u:u-login", "a:a-login") && p.PageViews == 2 && s.byID("a:a-login") == p
		})
		p := s.byID("u:u-login")
		if p.Events != 3 {
			t.Errorf("events = %d, want 3", p.Events)
		}
		if _, ok := s.profiles[identity.ProfileID("a:a-login")]; ok {
			t.Errorf("the anonymous profile is still published after the merge")
		}
		// A later hit with only the anonymous id reaches the user.
		h.send(t, page("a-login", ""))
		h.settle(t, "late anonymous hit", func(s state) bool { return s.byID("u:u-login").PageViews == 3 })
	})

	t.Run("two devices of one user end in one profile", func(t *testing.T) {
		h.send(t, page("a-dev1", ""), page("a-dev2", ""), page("a-dev2", ""))
		h.send(t, identify("a-dev1", "u-dev", nil), identify("a-dev2", "u-dev", nil))
		s := h.settle(t, "two devices", func(s state) bool {
			p := s.byID("u:u-dev")
			return hasIDs(p, "a:a-dev1", "a:a-dev2") && p.PageViews == 3
		})
		if p := s.byID("u:u-dev"); p.Events != 5 || s.byID("a:a-dev1") != p || s.byID("a:a-dev2") != p {
			t.Errorf("events = %d (want 5); a:a-dev1 and a:a-dev2 must map to the user", p.Events)
		}
	})

	t.Run("placeholder user ids never merge", func(t *testing.T) {
		for i, junk := range []string{"null", "undefined", "0", "-1", "anonymous", "NULL", " undefined "} {
			a, b := "a-junk-x"+junk, "a-junk-y"+junk
			h.send(t, page(a, ""), identify(a, junk, nil), page(b, ""), identify(b, junk, nil))
			s := h.settle(t, "junk "+junk, func(s state) bool {
				pa, pb := s.byID("a:"+a), s.byID("a:"+b)
				return pa != nil && pb != nil && pa.Events == 2 && pb.Events == 2
			})
			if s.byID("a:"+a) == s.byID("a:"+b) {
				t.Errorf("case %d: user id %q merged two devices", i, junk)
			}
			if s.byID("u:"+junk) != nil {
				t.Errorf("case %d: a profile exists for user id %q", i, junk)
			}
		}
	})

	t.Run("a shared device follows the newest login; users never merge", func(t *testing.T) {
		h.send(t, identify("a-shared", "u-alice", nil), page("a-shared", ""))
		h.settle(t, "alice", func(s state) bool { p := s.byID("u:u-alice"); return p != nil && p.PageViews == 1 })
		h.send(t, identify("a-shared", "u-bob", nil))
		h.settle(t, "bob logs in", func(s state) bool { return s.byID("a:a-shared") == s.byID("u:u-bob") && s.byID("u:u-bob") != nil })
		h.send(t, page("a-shared", ""), page("a-shared", ""))
		s := h.settle(t, "bob's pages", func(s state) bool { return s.byID("u:u-bob").PageViews == 2 })
		alice, bob := s.byID("u:u-alice"), s.byID("u:u-bob")
		if alice == bob || alice.PageViews != 1 || alice.Events != 2 {
			t.Errorf("alice = %+v, want her own profile with 1 page view and 2 events", alice)
		}
		// Alice logs in again on the device: it follows her. (Right after a
		// login the tag sends the user id; a hit with only the device id
		// follows once the link has moved, a few milliseconds later.)
		h.send(t, identify("a-shared", "u-alice", nil))
		h.settle(t, "alice back", func(s state) bool { return s.byID("a:a-shared") == s.byID("u:u-alice") })
		h.send(t, page("a-shared", ""))
		h.settle(t, "alice's page", func(s state) bool { return s.byID("u:u-alice").PageViews == 2 && s.byID("u:u-bob").PageViews == 2 })
	})

	t.Run("reset starts a fresh anonymous profile", func(t *testing.T) {
		h.send(t, identify("a-before-reset", "u-reset", nil), page("a-after-reset", ""))
		s := h.settle(t, "reset", func(s state) bool {
			return s.byID("u:u-reset") != nil && s.byID("a:a-after-reset") != nil
		})
		if s.byID("a:a-after-reset") == s.byID("u:u-reset") {
			t.Errorf("the new anonymous id after reset was linked to the user")
		}
	})

	t.Run("an email identifies without login, across devices, then joins the user", func(t *testing.T) {
		e := email("Carol@Example.com")
		h.send(t, page("a-mail1", ""), identify("a-mail1", "", map[string]any{"email": "carol@example.com"}))
		h.settle(t, "email on device 1", func(s state) bool {
			p := s.byID(e)
			return hasIDs(p, e, "a:a-mail1") && p.PageViews == 1
		})
		// A newsletter click on another device: same email, no login.
		h.send(t, page("a-mail2", ""), event.Event{Type: event.TypeTrack, Event: "Email Clicked", AnonymousID: "a-mail2",
			Context: map[string]any{"traits": map[string]any{"email": " CAROL@example.com "}}})
		h.settle(t, "email on device 2", func(s state) bool {
			p := s.byID(e)
			return hasIDs(p, "a:a-mail1", "a:a-mail2") && p.PageViews == 2
		})
		// Carol logs in on device 2: everything settles in her user profile.
		h.send(t, identify("a-mail2", "u-carol", map[string]any{"email": "carol@example.com"}))
		s := h.settle(t, "login", func(s state) bool {
			p := s.byID("u:u-carol")
			return hasIDs(p, e, "a:a-mail1", "a:a-mail2") && p.PageViews == 2 && s.byID(e) == p && s.byID("a:a-mail1") == p
		})
		if p := s.byID("u:u-carol"); p.Events != 5 {
			t.Errorf("events = %d, want 5", p.Events)
		}
		// Device 1, linked to the email, now reaches the user.
		h.send(t, page("a-mail1", ""))
		h.settle(t, "chain", func(s state) bool { return s.byID("u:u-carol").PageViews == 3 })
	})

	t.Run("a retried hit counts once", func(t *testing.T) {
		hit := page("a-retry", "")
		hit.MessageID = "retry-1"
		h.send(t, hit, hit, hit)
		h.settle(t, "retry", func(s state) bool { p := s.byID("a:a-retry"); return p != nil && p.PageViews == 1 })
	})

	t.Run("bots stay out of profiles", func(t *testing.T) {
		bot := page("a-bot", "")
		bot.Bot = true
		h.send(t, bot, page("a-human", ""))
		s := h.settle(t, "bot", func(s state) bool { return s.byID("a:a-human") != nil })
		if s.byID("a:a-bot") != nil {
			t.Errorf("a bot's hit made a profile")
		}
	})
}
