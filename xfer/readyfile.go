package xfer

import (
	"os"
	"path/filepath"
)

// WriteFileAtomic writes s to name through a temporary file beside it
// and a rename, so that a reader polling for name (a script waiting for
// tju recv --ready-file) never sees it half written.
func WriteFileAtomic(name, s string) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tju-ready-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(s); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
