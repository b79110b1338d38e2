package xfer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tjunet/tjunet/xfer"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "ready")
	for _, s := range []string{"127.0.0.1:1/1234\n", "again\n"} {
		if err := xfer.WriteFileAtomic(name, s); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(name); err != nil || string(b) != s {
			t.Errorf("read %q, %v; want %q", b, err, s)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the folder, want only the one written (no temporary left)", len(ents))
	}
	if err := xfer.WriteFileAtomic(filepath.Join(dir, "no", "such"), "x"); err == nil {
		t.Errorf("writing into a missing folder succeeded")
	}
}
