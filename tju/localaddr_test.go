package tju_test

import (
	"context"
	"testing"

	"github.com/tjunet/tjunet/tju"
)

func TestLocalAddrFor(t *testing.T) {
	for peer, want := range map[string]string{
		"127.0.0.1:20218": "127.0.0.1:0",
		"10.1.2.3:20218":  "0.0.0.0:0",
		"[::1]:20218":     "[::1]:0",
		"[2001:db8::1]:1": ":0",
		"no port":         ":0",
	} {
		if got := tju.LocalAddrFor(context.Background(), peer); got != want {
			t.Errorf("LocalAddrFor(%q) = %q, want %q", peer, got, want)
		}
	}
}
