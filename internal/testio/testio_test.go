package testio

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("ab"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := len(b.Bytes()); got != 800 {
		t.Errorf("%d bytes, want 800", got)
	}
	p := b.Bytes()
	p[0] = 'x'
	if b.String()[0] != 'a' {
		t.Errorf("Bytes shares the buffer's memory")
	}
}

func TestDirNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b", "a"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := DirNames(t, dir); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %q, want a, b", got)
	}
}
