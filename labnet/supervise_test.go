package labnet

import (
	"strings"
	"testing"
)

func TestPrefixedLines(t *testing.T) {
	var b strings.Builder
	w := prefixed(&b, Server)
	for _, s := range []string{"one\ntw", "o\n", "three"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if want := "[server] one\n[server] two\n[server] three"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
