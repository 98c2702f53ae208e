package main

import (
	"io"
	"strings"
	"testing"
)

// TestHotSetFlag: --hot-set-mb (ECRM_HOT_SET_MB) sizes personalize's hot
// set; a negative size is refused; roles without personalize lack it.
func TestHotSetFlag(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, cmd := range []string{"run", "personalize"} {
		var cfg config
		if err := flagSet(cmd, &cfg, env(nil), io.Discard).Parse(nil); err != nil || cfg.HotSetMB != 256 {
			t.Errorf("%s: default hot set %d MiB, %v; want 256", cmd, cfg.HotSetMB, err)
		}
		cfg = config{}
		if err := flagSet(cmd, &cfg, env(map[string]string{"ECRM_HOT_SET_MB": "64"}), io.Discard).Parse(nil); err != nil || cfg.HotSetMB != 64 {
			t.Errorf("%s: ECRM_HOT_SET_MB=64 gives %d MiB, %v", cmd, cfg.HotSetMB, err)
		}
		cfg = config{}
		if err := flagSet(cmd, &cfg, env(nil), io.Discard).Parse([]string{"--hot-set-mb", "-1"}); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--hot-set-mb") {
			t.Errorf("%s: --hot-set-mb -1: Validate = %v, want it refused", cmd, err)
		}
	}
	var cfg config
	if err := flagSet("collector", &cfg, env(nil), io.Discard).Parse([]string{"--hot-set-mb", "64"}); err == nil {
		t.Error("ecrm collector accepts --hot-set-mb")
	}
}
