package tju_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tjunet/tjunet/tju"
)

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		udp  string
		port uint16
	}{
		{"hostB", "hostB:20218", 0},
		{"172.17.0.3", "172.17.0.3:20218", 0},
		{"127.0.0.1:40123/1234", "127.0.0.1:40123", 1234},
		{"h:1/6", "h:1", 6},
		{"hostB/99", "hostB:20218", 99},
		{"[::1]:9000", "[::1]:9000", 0},
		{"::1", "[::1]:20218", 0},
		{"[::1]/7", "[::1]:20218", 7},
		{"fe80::1:2", "[fe80::1:2]:20218", 0},
	} {
		udp, port, err := tju.ParseAddr(tc.in)
		if err != nil || udp != tc.udp || port != tc.port {
			t.Errorf("ParseAddr(%q) = %q, %d, %v; want %q, %d", tc.in, udp, port, err, tc.udp, tc.port)
		}
	}
	for _, bad := range []string{"", ":20218", "h:99999", "h:0", "h:x", "h:1/0", "h:1/x", "h:1/70000", "/5",
		"h:-1", "[::1", "a b", "h:1:2:3]", "h:+5"} {
		udp, port, err := tju.ParseAddr(bad)
		var ae *tju.AddrError
		if err == nil || !errors.As(err, &ae) || ae.Addr != bad || ae.Why == "" {
			t.Errorf("ParseAddr(%q) = %q, %d, %v; want an *AddrError", bad, udp, port, err)
		}
	}
}

func ExampleParseAddr() {
	udp, port, err := tju.ParseAddr("127.0.0.1:40123/1234")
	fmt.Println(udp, port, err)
	udp, port, _ = tju.ParseAddr("hostB") // the lab's UDP port, no TJU port
	fmt.Println(udp, port)
	_, _, err = tju.ParseAddr("hostB:99999")
	fmt.Println(err)
	// Output:
	// 127.0.0.1:40123 1234 <nil>
	// hostB:20218 0
	// tju: bad address "hostB:99999": the UDP port 99999 is not a number from 1 to 65535
}
