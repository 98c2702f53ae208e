//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package spool

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates dir's LOCK file but cannot lock it on this platform: two
// Spools on one directory are not detected here.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	return f, nil
}

// unlockDir releases what lockDir took.
func unlockDir(f *os.File) error {
	return f.Close()
}
