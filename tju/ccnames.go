package tju

import "strings"

// CongestionControls lists the algorithms Config.CongestionControl names,
// the default (outside Lab mode) first, each with a few words on what it
// is for. Every command-line flag and help text of tjunet takes its names
// from here.
var CongestionControls = []struct {
	Name string
	What string
}{
	{"bbr", "the default: model-based and paced, after the IETF BBR draft; random loss does not slow it"},
	{"reno", "the lab's, and lab mode's default: RFC 5681 Reno with NewReno recovery"},
	{"cubic", "RFC 9438 CUBIC, for fast long paths"},
}

// CongestionControlNames returns the names in CongestionControls, in
// order: "bbr", "reno", "cubic".
func CongestionControlNames() []string {
	names := make([]string, len(CongestionControls))
	for i, c := range CongestionControls {
		names[i] = c.Name
	}
	return names
}

// IsCongestionControl reports whether name, in any case, is in
// CongestionControls.
func IsCongestionControl(name string) bool {
	for _, c := range CongestionControls {
		if strings.EqualFold(c.Name, name) {
			return true
		}
	}
	return false
}

// congestionControlsInWords is "bbr, reno or cubic".
func congestionControlsInWords() string {
	n := CongestionControlNames()
	return strings.Join(n[:len(n)-1], ", ") + " or " + n[len(n)-1]
}
