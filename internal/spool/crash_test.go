package spool

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// crash simulates a power loss: the last segment loses what was not fsynced,
// except for a torn part of it (a prefix of what was written, then perhaps
// garbage), and the Spool stops without fsyncing or closing cleanly. Earlier
// segments were fsynced when the next one began, and the cursor file when it
// was written. Afterwards the Spool behaves as closed.
func (s *Spool) crash(tb testing.TB, rng *rand.Rand) {
	tb.Helper()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.syncMu.Lock()
	s.mu.Lock()
	s.closed = true
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
	active := s.segs[len(s.segs)-1]
	keep := int64(0)
	if s.durable.seg == active.id {
		keep = s.durable.off
	}
	lost := make([]byte, active.size-keep)
	f, err := os.Open(segmentPath(s.dir, active.id))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.ReadAt(lost, keep); err != nil && err != io.EOF {
		tb.Fatal(err)
	}
	f.Close()
	torn := lost[:rng.IntN(len(lost)+1)]
	tb.Logf("crash: segment %d keeps %d bytes, loses %d, %d of them torn", active.id, keep, len(lost), len(torn))
	if rng.IntN(2) == 0 {
		torn = append(torn, "\x00\x00\x01\x00torn garbage"[:rng.IntN(17)]...)
	}
	if err := s.w.Truncate(keep); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.w.Write(torn); err != nil {
		tb.Fatal(err)
	}
	s.w.Close()
	s.mu.Unlock()
	s.syncMu.Unlock()

	s.cmu.Lock()
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	s.cmu.Unlock()
	unlockDir(s.lock)
}

// TestCrashSyncAlways crashes a spool, under SyncAlways, again and again while
// producers append and a consumer delivers, and checks that every record
// whose Append returned nil is delivered, in each producer's order, and that
// no record whose Ack returned nil is delivered again.
func TestCrashSyncAlways(t *testing.T) {
	const (
		producers = 4
		rounds    = 8
		perRound  = 40 // appends per producer per round
	)
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	size := frameSize(t, seqRecord(0, 100))
	opts := Options{Sync: SyncAlways, SegmentBytes: 10 * size}

	type key struct{ p, seq int }
	type delivery struct {
		key
		acked bool // the Ack after it returned nil
	}
	var (
		next      = make([]int, producers) // next seq to try, per producer
		accepted  = map[key]bool{}
		delivered []delivery
	)

	for round := range rounds {
		last := round == rounds-1
		s := mustOpen(t, dir, opts)

		consumerDone := make(chan struct{})
		crng := rand.New(rand.NewPCG(uint64(round), 3))
		go func() {
			defer close(consumerDone)
			for {
				recs, c, err := s.Peek(1 + crng.IntN(8))
				if err != nil {
					return
				}
				if len(recs) == 0 {
					<-s.Notify()
					continue
				}
				if crng.IntN(4) == 0 {
					time.Sleep(100 * time.Microsecond) // widen the window for a crash before Ack
				}
				err = s.Ack(c)
				for _, r := range recs {
					p, seq := parseSeqRecord(t, r)
					delivered = append(delivered, delivery{key{p, seq}, err == nil})
				}
				if err != nil {
					return
				}
			}
		}()

		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			appends atomic.Int64
		)
		for p := range producers {
			start := next[p]
			wg.Go(func() {
				seq := start
				defer func() { mu.Lock(); next[p] = seq; mu.Unlock() }()
				for seq < start+perRound {
					err := s.Append(seqRecord(p, seq))
					seq++
					if err != nil {
						return // the crash
					}
					mu.Lock()
					accepted[key{p, seq - 1}] = true
					mu.Unlock()
					appends.Add(1)
				}
			})
		}
		if last {
			wg.Wait()
			deadline := time.Now().Add(30 * time.Second)
			for s.Len() > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("consumer stuck with %d records pending", s.Len())
				}
				time.Sleep(time.Millisecond)
			}
			mustClose(t, s)
		} else {
			target := int64(rng.IntN(producers * perRound))
			for appends.Load() < target {
				runtime.Gosched()
			}
			s.crash(t, rng)
			wg.Wait()
		}
		<-consumerDone
	}

	seen := map[key]bool{}
	ackedOnce := map[key]bool{}
	lastSeq := make([]int, producers)
	for i := range lastSeq {
		lastSeq[i] = -1
	}
	for _, d := range delivered {
		if ackedOnce[d.key] {
			t.Errorf("record %v delivered again after an Ack that returned nil", d.key)
		}
		if d.acked {
			ackedOnce[d.key] = true
		}
		if seen[d.key] {
			continue // redelivery after a crash between delivery and Ack
		}
		seen[d.key] = true
		if d.seq <= lastSeq[d.p] {
			t.Errorf("producer %d: seq %d delivered after seq %d", d.p, d.seq, lastSeq[d.p])
		}
		lastSeq[d.p] = d.seq
	}
	for k := range accepted {
		if !seen[k] {
			t.Errorf("record %v accepted by Append but never delivered", k)
		}
	}
	t.Logf("%d records accepted, %d deliveries, %d distinct", len(accepted), len(delivered), len(seen))
}

// TestCrashProcess kills a process that appends under SyncAlways with
// SIGKILL, and checks that every record it reported appended is there after
// a restart.
func TestCrashProcess(t *testing.T) {
	const envDir = "ECRM_SPOOL_CRASH_CHILD_DIR"
	if dir := os.Getenv(envDir); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashProcess$")
	cmd.Env = append(os.Environ(), envDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lastReported := -1
	sc := bufio.NewScanner(out)
	timeout := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	for lastReported < 300 && sc.Scan() {
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			lastReported = n
		}
	}
	timeout.Stop()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)
	cmd.Wait()
	if lastReported < 300 {
		t.Fatalf("child reported %d appends before it stopped, want 300", lastReported+1)
	}

	s := mustOpen(t, dir, Options{})
	recs := mustDrain(t, s, 100)
	if len(recs) <= lastReported {
		t.Fatalf("%d records after the crash, want at least %d", len(recs), lastReported+1)
	}
	for i, r := range recs {
		if _, seq := parseSeqRecord(t, r); seq != i {
			t.Fatalf("record %d has seq %d, want %d", i, seq, i)
		}
	}
	t.Logf("child reported %d appends; %d records survived the kill", lastReported+1, len(recs))
}

// crashChild appends to the spool in dir and reports every append on stdout
// until it is killed.
func crashChild(dir string) {
	s, err := Open(filepath.Clean(dir), Options{Sync: SyncAlways, SegmentBytes: 4 << 10})
	if err != nil {
		panic(err)
	}
	for i := 0; ; i++ {
		if err := s.Append(seqRecord(0, i)); err != nil {
			panic(err)
		}
		os.Stdout.WriteString(strconv.Itoa(i) + "\n")
	}
}
