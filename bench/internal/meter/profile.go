package meter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
)

// StartProfile starts a CPU profile of this process into cpuPath, if set,
// and returns the function that stops it and, if memPath is set, writes
// the allocations made meanwhile there, and those made before to
// memPath+".base", for go tool pprof -sample_index=alloc_space -base
// memPath.base memPath. The stop function may be called more than once;
// it stops and writes only the first time.
func StartProfile(cpuPath, memPath string) (stop func() error, err error) {
	stopCPU := func() error { return nil }
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		stopCPU = func() error {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
			return nil
		}
	}
	if memPath == "" {
		return sync.OnceValue(stopCPU), nil
	}
	// Only what is allocated from now on: a rate from the start, and the
	// profile's counts before taken away by pprof's -base.
	before := allocsProfile()
	return sync.OnceValue(func() error {
		err := stopCPU()
		runtime.GC() // the profile counts what the last cycle saw
		if werr := os.WriteFile(memPath+".base", before, 0o644); werr != nil {
			return errors.Join(err, fmt.Errorf("memory profile: %w", werr))
		}
		if werr := os.WriteFile(memPath, allocsProfile(), 0o644); werr != nil {
			return errors.Join(err, fmt.Errorf("memory profile: %w", werr))
		}
		return err
	}), nil
}

// allocsProfile returns the allocation profile so far.
func allocsProfile() []byte {
	runtime.GC()
	var buf bytes.Buffer
	_ = pprof.Lookup("allocs").WriteTo(&buf, 0) // writes to memory
	return buf.Bytes()
}
