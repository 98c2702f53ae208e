package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExample runs the README's curl example as printed, against a
// fresh `ecrm run` whose address replaces the default one.
func TestReadmeExample(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README example: install it (apt-get install curl)")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- readme-example:start -->\\s*```sh\n(.*?)```\\s*<!-- readme-example:end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no readme-example block")
	}
	root := t.TempDir()
	in := mustStartToken(t, filepath.Join(root, "data"), "")
	script := strings.ReplaceAll(string(m[1]), "http://127.0.0.1:8080", in.base)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README example failed: %v\n%s", err, out)
	}
	// The first answer is the batch's, the second the profile.
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var batch, prof map[string]any
	if err := dec.Decode(&batch); err != nil {
		t.Fatalf("first answer %q: %v", out, err)
	}
	if err := dec.Decode(&prof); err != nil {
		t.Fatalf("second answer %q: %v", out, err)
	}
	if num(batch, "accepted") != 2 {
		t.Errorf("batch answer = %v, want 2 accepted", batch)
	}
	if num(prof, "pageViews") != 1 || !strings.Contains(string(out), `"a:anon-42"`) || !strings.Contains(string(out), `"u:alice"`) {
		t.Errorf("profile answer = %v, want pageViews 1 and ids u:alice, a:anon-42", prof)
	}
}
