package labpeer

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
)

func TestResolvePeer(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1": "127.0.0.1:20218", "127.0.0.1:9": "127.0.0.1:9", "[::ffff:10.0.0.1]:5": "10.0.0.1:5"} {
		got, err := ResolvePeer(in)
		if err != nil || got != netip.MustParseAddrPort(want) {
			t.Errorf("ResolvePeer(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ResolvePeer("127.0.0.1:notaport"); err == nil {
		t.Errorf("a bad port is accepted")
	}
}

// The transfer reopens the socket of the checks: Opener gives it the port
// the first open got.
func TestOpenerKeepsThePort(t *testing.T) {
	open := Opener("127.0.0.1:0")
	a, err := open()
	if err != nil {
		t.Fatal(err)
	}
	port := a.LocalAddr().String()
	a.Close()
	b, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.LocalAddr().String() != port {
		t.Errorf("reopened at %v, want %v", b.LocalAddr(), port)
	}
}

func TestSeededDataIsTheSameEachTime(t *testing.T) {
	data := SeededData(1000)
	var got [2][]byte
	for i := range got {
		r, err := data()
		if err != nil {
			t.Fatal(err)
		}
		got[i], _ = io.ReadAll(r)
	}
	if len(got[0]) != 1000 || !bytes.Equal(got[0], got[1]) {
		t.Errorf("%d and %d bytes, equal %v", len(got[0]), len(got[1]), bytes.Equal(got[0], got[1]))
	}
}

func TestListAndVerdict(t *testing.T) {
	checks, err := Select(Client, nil, nil)
	if err != nil || len(checks) == 0 {
		t.Fatalf("Select: %d checks, %v", len(checks), err)
	}
	var b strings.Builder
	WriteList(&b, checks)
	if !strings.Contains(b.String(), checks[0].Name) || !strings.Contains(b.String(), "    app: ") {
		t.Errorf("the list lacks the first check or its app line:\n%s", b.String())
	}
	if err := (&Report{Passed: 3, Total: 3}).Err(); err != nil {
		t.Errorf("all passed: %v", err)
	}
	if err := (&Report{Passed: 1, Total: 3}).Err(); err == nil || err.Error() != "2 of 3 checks fail" {
		t.Errorf("two failed: %v", err)
	}
	b.Reset()
	if err := (&Report{Role: "client", Passed: 1, Total: 1}).WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"role": "client"`) {
		t.Errorf("JSON %q, %v", b.String(), err)
	}
}
