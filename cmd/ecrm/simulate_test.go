package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// recorder is a collector stand-in that decodes and keeps what it gets.
type recorder struct {
	mu       sync.Mutex
	requests int
	events   int
	rejected int
	keys     map[string]bool
	first    time.Time
	last     time.Time
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b, err := event.DecodeBatch(body)
	if err != nil {
		http.Error(w, `{"error":"malformed"}`, http.StatusBadRequest)
		return
	}
	user, _, _ := r.BasicAuth()
	rc.mu.Lock()
	now := time.Now()
	if rc.first.IsZero() {
		rc.first = now
	}
	rc.last = now
	rc.requests++
	rc.events += len(b.Events)
	rc.rejected += len(b.Rejected)
	if rc.keys == nil {
		rc.keys = map[string]bool{}
	}
	rc.keys[user] = true
	rc.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"accepted": len(b.Events), "rejected": []any{}})
}

func mustSimulate(tb testing.TB, env map[string]string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	var out, errOut strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = simulateCmd(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestSimulateRate(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	start := time.Now()
	out, errOut, err := mustSimulate(t, nil, "--target", srv.URL, "--rate", "400", "--duration", "1500ms", "--visitors", "300", "--seed", "3")
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut)
	}
	// About 600 events in 1.5 s (the bucket starts empty), never more than
	// the rate allows over the time it ran. How few a loaded machine sends
	// is not this test's business: only that the rate is a ceiling.
	if most := int(400*min(elapsed.Seconds(), 1.5)) + 100; rc.events == 0 || rc.events > most {
		t.Errorf("the collector got %d events at 400/s in %v, want some and at most %d", rc.events, elapsed, most)
	}
	if rc.rejected != 0 || !rc.keys["demo"] || len(rc.keys) != 1 {
		t.Errorf("rejected %d, write keys %v", rc.rejected, rc.keys)
	}
	for _, want := range []string{"sent ", "accepted   ", "rejected   0", "errors     0 requests", "latency    p50 ", "p99 "} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "done") {
		t.Errorf("no final progress line on stderr:\n%s", errOut)
	}
}

func TestSimulateEvents(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	env := map[string]string{"ECRM_SIMULATE_TARGET": srv.URL, "ECRM_SIMULATE_WRITE_KEY": "env-key"}
	out, errOut, err := mustSimulate(t, env, "--events", "250", "--rate", "5000")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut)
	}
	if rc.events != 250 || !rc.keys["env-key"] {
		t.Errorf("the collector got %d events with keys %v, want 250 with env-key", rc.events, rc.keys)
	}
	if !strings.Contains(out, "sent       250 events") || !strings.Contains(out, "accepted   250") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestSimulateCatalog(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "products.json")
	if err := os.WriteFile(file, []byte(`[{"id":"x1","name":"Kettle","category":"kitchen","price":30,"currency":"USD"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := mustSimulate(t, nil, "--target", srv.URL, "--events", "100", "--rate", "5000", "--catalog", file)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut)
	}
	if rc.events != 100 {
		t.Errorf("the collector got %d events", rc.events)
	}
	if !strings.Contains(out, "USD") {
		t.Errorf("summary does not count in the catalog's currency:\n%s", out)
	}
}

func TestSimulateStopsOnCancel(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out strings.Builder
	start := time.Now()
	err := simulateCmd(ctx, []string{"--target", srv.URL, "--duration", "1m"}, func(string) string { return "" }, &out, io.Discard)
	if err != nil || time.Since(start) > 10*time.Second {
		t.Fatalf("simulate = %v after %v, want nil soon after the cancel", err, time.Since(start))
	}
	if !strings.Contains(out.String(), "accepted") {
		t.Errorf("no summary after a cancel:\n%s", out.String())
	}
}

func TestSimulateRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"write key is not valid"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	out, _, err := mustSimulate(t, nil, "--target", srv.URL, "--write-key", "nope", "--duration", "20s")
	if err == nil || !strings.Contains(err.Error(), "write key is not valid") {
		t.Errorf("simulate = %v, want the collector's refusal", err)
	}
	if !strings.Contains(out, "first error: 401") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestSimulateBadFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"id":"a"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"zero rate", []string{"--rate", "0"}},
		{"negative rate", []string{"--rate", "-5"}},
		{"rate not a number", []string{"--rate", "fast"}},
		{"no visitors", []string{"--visitors", "0"}},
		{"no days", []string{"--days", "0"}},
		{"negative events", []string{"--events", "-1"}},
		{"events and duration", []string{"--events", "10", "--duration", "1s"}},
		{"zero duration", []string{"--duration", "0s"}},
		{"target without scheme", []string{"--target", "127.0.0.1:8080"}},
		{"ftp target", []string{"--target", "ftp://127.0.0.1/"}},
		{"empty write key", []string{"--write-key", ""}},
		{"no concurrency", []string{"--concurrency", "0"}},
		{"missing catalog", []string{"--catalog", missing}},
		{"invalid catalog", []string{"--catalog", bad}},
		{"bad site url", []string{"--site-url", "shop"}},
		{"unknown flag", []string{"--speed", "9"}},
		{"extra argument", []string{"now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := simulateCmd(context.Background(), tc.args, func(string) string { return "" }, &out, io.Discard)
			if err == nil {
				t.Errorf("simulate %q: no error", tc.args)
			}
			if out.Len() > 0 {
				t.Errorf("simulate %q wrote a summary:\n%s", tc.args, out.String())
			}
		})
	}
}
