package trace

import (
	"errors"
	"strings"
	"testing"
)

// oneOfEachKind returns an event of every kind with all its fields set to
// values that survive the line format (RTT values with at most 6 decimals).
func oneOfEachKind() []Event {
	return []Event{
		{Time: 1663745643123456, Kind: KindSend, Seq: 4294967295, Ack: 17, Flags: FlagSYN | FlagACK, Length: 1375},
		{Time: 1663745643123457, Kind: KindRecv, Seq: 646, Ack: 1, Flags: FlagACK, Length: 0},
		{Time: 1663745643123458, Kind: KindCwnd, Type: CwndFastRetransmit, Size: 6187},
		{Time: 1663745643123459, Kind: KindRwnd, Size: 44000},
		{Time: 1663745643123460, Kind: KindSwnd, Size: 2750},
		{Time: 1663745643123461, Kind: KindRtts, SampleRTT: 20.5, EstimatedRTT: 20.0625, DeviationRTT: 3.25, TimeoutInterval: 1000},
		{Time: 1663745643123462, Kind: KindDelv, Seq: 2147483648, Size: 10000},
		{Time: 1663745643123463, Kind: KindSsth, Size: 65535},
	}
}

func TestRoundTripEveryKind(t *testing.T) {
	events := oneOfEachKind()
	seen := map[Kind]bool{}
	for _, want := range events {
		line := want.String()
		got, err := ParseLine(line)
		if err != nil {
			t.Fatalf("ParseLine(%q): %v", line, err)
		}
		if got != want {
			t.Errorf("ParseLine(%q)\n got %+v\nwant %+v", line, got, want)
		}
		// Through Append too, with its newline.
		got2, err := ParseLine(string(want.Append(nil)))
		if err != nil || got2 != want {
			t.Errorf("ParseLine(Append()) = %+v, %v", got2, err)
		}
		seen[want.Kind] = true
	}
	for k := Kind(1); k < Kind(len(kindNames)); k++ {
		if !seen[k] {
			t.Errorf("kind %v not covered by the round trip", k)
		}
	}
}

func TestParseLineLabVariants(t *testing.T) {
	send := Event{Time: 1663745643123456, Kind: KindSend, Seq: 0, Ack: 0, Flags: 8, Length: 0}
	tests := []struct {
		name string
		line string
		want Event
	}{
		{"exact", "[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]", send},
		{"crlf", "[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]\r\n", send},
		{"extra spaces", "  [ 1663745643123456 ]   [ SEND ]  [ seq:0  ack:0\tflag:8 length:0 ]  ", send},
		{"no spaces between parts", "[1663745643123456][SEND][seq:0 ack:0 flag:8 length:0]", send},
		{"space after colon", "[1663745643123456] [SEND] [seq: 0 ack: 0 flag: 8 length: 0]", send},
		{"other order", "[1663745643123456] [SEND] [length:0 flag:8 ack:0 seq:0]", send},
		{"lower case name", "[1663745643123456] [send] [seq:0 ack:0 flag:8 length:0]", send},
		{"fields without brackets", "[1663745643123456] [SEND] seq:0 ack:0 flag:8 length:0", send},
		{"bom", "\uFEFF[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]", send},
		{"negative seq from %d", "[1] [RECV] [seq:-1 ack:-2147483648 flag:4 length:10]",
			Event{Time: 1, Kind: KindRecv, Seq: 4294967295, Ack: 2147483648, Flags: 4, Length: 10}},
		{"rtts as C prints it", "[2] [RTTS] [SampleRTT:20.554000 EstimatedRTT:20.554000 DeviationRTT:10.277000 TimeoutInterval:61.662000]",
			Event{Time: 2, Kind: KindRtts, SampleRTT: 20.554, EstimatedRTT: 20.554, DeviationRTT: 10.277, TimeoutInterval: 61.662}},
		{"rtts integers", "[2] [RTTS] [SampleRTT:20 EstimatedRTT:20 DeviationRTT:10 TimeoutInterval:1000]",
			Event{Time: 2, Kind: KindRtts, SampleRTT: 20, EstimatedRTT: 20, DeviationRTT: 10, TimeoutInterval: 1000}},
		{"cwnd", "[3] [CWND] [type:3 size:1375]", Event{Time: 3, Kind: KindCwnd, Type: 3, Size: 1375}},
		{"delv", "[4] [DELV] [seq:1 size:1375]", Event{Time: 4, Kind: KindDelv, Seq: 1, Size: 1375}},
		{"ssth", "[5] [SSTH] [size:8250]", Event{Time: 5, Kind: KindSsth, Size: 8250}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine(tt.line)
			if err != nil {
				t.Fatalf("ParseLine(%q): %v", tt.line, err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	tests := []struct {
		line    string
		unknown bool   // wraps ErrUnknownEvent rather than ErrSyntax
		mention string // part of the message
	}{
		{"", false, "empty"},
		{"   \r", false, "empty"},
		{"hello", false, "expected '['"},
		{"[123", false, "no ']'"},
		{"[abc] [SEND] [seq:0 ack:0 flag:8 length:0]", false, "time"},
		{"[123]", false, "missing [event name]"},
		{"[123] [FOO] [x:1]", true, `"FOO"`},
		{"[123] [LOSS] [seq:5]", true, "LOSS"},
		{"[123] [] [seq:5]", false, "not an event name"},
		{"[123] [SEND] [seq:0 ack:0 flag:8]", false, "lacks field length"},
		{"[123] [SEND] [seq:0 ack:0 flag:8 length:0 length:0]", false, "twice"},
		{"[123] [SEND] [seq:0 ack:0 flag:8 length:0 win:5]", false, `no field "win"`},
		{"[123] [SEND] [seq:x ack:0 flag:8 length:0]", false, "seq"},
		{"[123] [SEND] [seq:4294967296 ack:0 flag:8 length:0]", false, "32-bit"},
		{"[123] [SEND] [seq:0 ack:0 flag:256 length:0]", false, "flag"},
		{"[123] [SEND] [seq 0 ack:0 flag:8 length:0]", false, "name:value"},
		{"[123] [RTTS] [SampleRTT:a EstimatedRTT:1 DeviationRTT:1 TimeoutInterval:1]", false, "not a number"},
		{"[123] [CWND] [type:0 size:1375] trailing", false, "after the fields"},
		{"[123] [CWND] [type:0 size:]", false, "size"},
	}
	for _, tt := range tests {
		_, err := ParseLine(tt.line)
		if err == nil {
			t.Errorf("ParseLine(%q) succeeded", tt.line)
			continue
		}
		if got := errors.Is(err, ErrUnknownEvent); got != tt.unknown {
			t.Errorf("ParseLine(%q) = %v; Is(ErrUnknownEvent) = %v, want %v", tt.line, err, got, tt.unknown)
		}
		if !tt.unknown && !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseLine(%q) = %v, not wrapping ErrSyntax", tt.line, err)
		}
		var ue *UnknownEventError
		if errors.As(err, &ue) != tt.unknown {
			t.Errorf("ParseLine(%q) = %v; As(*UnknownEventError) = %v", tt.line, err, !tt.unknown)
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParseLine(%q) = %q, want mention of %q", tt.line, err, tt.mention)
		}
	}
}

func TestParseLineDoesNotAllocate(t *testing.T) {
	line := "[1663745643146010] [RTTS] [SampleRTT:20.700000 EstimatedRTT:20.700000 DeviationRTT:10.350000 TimeoutInterval:62.100000]"
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseLine(line); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseLine allocates %v times per line", allocs)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, e := range oneOfEachKind() {
		f.Add(e.String())
	}
	for _, s := range []string{
		"[1663745643123456] [SEND] [seq:0 ack:0 flag:8 length:0]\r\n",
		"  [ 1 ]  [ rtts ] [SampleRTT: 1e3 EstimatedRTT:NaN DeviationRTT:-Inf TimeoutInterval:0x1p-2]",
		"[1] [CWND] [type:0 size:1]]",
		"[-5] [DELV] seq:-1 size:-1",
		"[1] [FOO] [a:b]",
		"[",
		"]",
		"[1] [SEND] [seq:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseLine(line)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnknownEvent) {
				t.Fatalf("ParseLine(%q) error %v wraps neither ErrSyntax nor ErrUnknownEvent", line, err)
			}
			return
		}
		// What parses must print and parse again to the same line.
		out := e.String()
		e2, err := ParseLine(out)
		if err != nil {
			t.Fatalf("ParseLine(%q) = %+v, whose line %q does not parse: %v", line, e, out, err)
		}
		if out2 := e2.String(); out2 != out {
			t.Fatalf("line %q -> %q -> %q", line, out, out2)
		}
	})
}

func BenchmarkParseLine(b *testing.B) {
	var lines []string
	for _, e := range oneOfEachKind() {
		lines = append(lines, e.String())
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ParseLine(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}
