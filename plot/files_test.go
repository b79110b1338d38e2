package plot

import (
	"slices"
	"testing"
)

func TestChartPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"client.event.trace":      "client",
		"/a/b/server.event.trace": "server",
		"run1.trace":              "run1",
		"trace":                   "trace",
		".event.trace":            "",
		"-":                       "stdin",
	} {
		got := ChartPrefix(in)
		if want == "" {
			if got == "" {
				t.Errorf("ChartPrefix(%q) is empty", in)
			}
			continue
		}
		if got != want {
			t.Errorf("ChartPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUniquePrefix(t *testing.T) {
	used := map[string]bool{}
	for _, want := range []string{"client", "client-2", "client-3"} {
		if got := UniquePrefix("client", used); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if got := UniquePrefix("server", used); got != "server" {
		t.Errorf("got %q, want server", got)
	}
}

func TestParseFormats(t *testing.T) {
	if got, err := ParseFormats(" SVG, png,svg"); err != nil || !slices.Equal(got, []string{"svg", "png"}) {
		t.Errorf("got %q, %v; want svg, png", got, err)
	}
	if _, err := ParseFormats("png,gif"); err == nil {
		t.Errorf("gif accepted")
	}
}
