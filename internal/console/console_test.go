package console

import (
	"io/fs"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/stats"
)

func TestCSVCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"p_1", "p_1"}, {"=1+1", "'=1+1"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"a=b", "a=b"}, {"12.50", "12.50"},
	} {
		if got := CSVCell(tc.in); got != tc.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestISOWeek(t *testing.T) {
	for _, tc := range []struct{ day, week, monday string }{
		{"2026-03-18", "2026-W12", "2026-03-16"},
		{"2026-03-16", "2026-W12", "2026-03-16"},
		{"2026-03-22", "2026-W12", "2026-03-16"},
		{"2027-01-01", "2026-W53", "2026-12-28"},
		{"2024-12-30", "2025-W01", "2024-12-30"},
	} {
		d, _ := time.Parse(time.DateOnly, tc.day)
		if w, m := ISOWeek(d), Monday(d).Format(time.DateOnly); w != tc.week || m != tc.monday {
			t.Errorf("ISOWeek, Monday(%s) = %s, %s; want %s, %s", tc.day, w, m, tc.week, tc.monday)
		}
	}
}

func TestBuildFunnelEmpty(t *testing.T) {
	r := BuildFunnel("2026-01-01", "2026-01-31", "", []FunnelPart{{Site: "s", Day: "2025-12-31", Channel: "direct",
		Funnel: stats.Funnel{Stages: map[string]int64{"visitor": 3}}}})
	if len(r.Total.Stages) != 5 || r.Total.Stages["visitor"] != 0 || len(r.Total.Steps) != 4 || r.Total.Steps[0].Rate != 0 {
		t.Errorf("empty range = %+v, want every stage at zero", r.Total)
	}
	if r.Channels == nil || r.Cohorts == nil {
		t.Error("channels and cohorts must be empty lists, not null")
	}
}

func TestPolicies(t *testing.T) {
	for _, s := range RFMSegments {
		if RFMPolicy(s).Action == "" {
			t.Errorf("RFM segment %q has no policy", s)
		}
	}
	for _, s := range Tiers {
		if TierPolicy(s).Action == "" {
			t.Errorf("tier %q has no policy", s)
		}
	}
	for _, s := range Lifecycles {
		if LifecyclePolicy(s).Action == "" {
			t.Errorf("lifecycle %q has no policy", s)
		}
	}
}

func TestFS(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		if _, err := fs.Stat(FS(), name); err != nil {
			t.Errorf("FS() lacks %s: %v", name, err)
		}
	}
}
