package trace

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrUnknownEvent is wrapped by the error ParseLine returns for a well-formed
// line whose event name is not one of the Kinds. The lab's plotting script skips
// such lines; callers can do the same with errors.Is(err, ErrUnknownEvent).
var ErrUnknownEvent = errors.New("unknown event")

// UnknownEventError is the error ParseLine returns for a well-formed line
// whose event name is not known. It wraps ErrUnknownEvent.
type UnknownEventError struct {
	Name string // the event name, as written
}

// Error returns "unknown event" and the quoted name.
func (e *UnknownEventError) Error() string {
	return ErrUnknownEvent.Error() + " " + strconv.Quote(e.Name)
}

// Unwrap returns ErrUnknownEvent.
func (e *UnknownEventError) Unwrap() error { return ErrUnknownEvent }

// ErrSyntax is wrapped by the error ParseLine returns for a line that is not in
// the trace format, or whose fields do not fit its event.
var ErrSyntax = errors.New("malformed trace line")

// TCP-style flag bits of the lab's header, as they appear in the flag field of
// SEND and RECV events.
const (
	FlagFIN = 0x02 // FIN: the sender has finished sending
	FlagACK = 0x04 // ACK: the ack field is meaningful
	FlagSYN = 0x08 // SYN: synchronize sequence numbers
)

// field identifies one field of an event line.
type field uint8

const (
	fSeq field = iota
	fAck
	fFlag
	fLength
	fType
	fSize
	fSample
	fEstimated
	fDeviation
	fTimeout
)

var fieldNames = [...]string{
	fSeq: "seq", fAck: "ack", fFlag: "flag", fLength: "length", fType: "type",
	fSize: "size", fSample: "SampleRTT", fEstimated: "EstimatedRTT",
	fDeviation: "DeviationRTT", fTimeout: "TimeoutInterval",
}

// kindFields lists, for each kind, its fields in the documented order.
var kindFields = [...][]field{
	KindSend: {fSeq, fAck, fFlag, fLength},
	KindRecv: {fSeq, fAck, fFlag, fLength},
	KindCwnd: {fType, fSize},
	KindRwnd: {fSize},
	KindSwnd: {fSize},
	KindRtts: {fSample, fEstimated, fDeviation, fTimeout},
	KindDelv: {fSeq, fSize},
	KindSsth: {fSize},
}

// ParseLine parses one trace line of the form
//
//	[<UTC microseconds>] [<EVENT>] [<name:value> ...]
//
// as the lab's framework and (*Event).Append write it. It accepts what the
// lab's C implementations print: leading and trailing white space (including a
// CR of a CRLF line ending and a UTF-8 byte order mark), several spaces or tabs
// between the bracketed parts and between fields, a space after a field's colon,
// field names in any letter case, and seq or ack values printed with %d from a
// 32-bit unsigned variable (negative numbers, taken modulo 2^32). Fields may come
// in any order, but each field of the event must be present exactly once and no
// other field may appear.
//
// The error wraps ErrUnknownEvent if the event name is not known, and ErrSyntax
// for any other problem. ParseLine does not allocate unless it fails.
func ParseLine(line string) (Event, error) {
	var e Event
	s := strings.TrimPrefix(strings.TrimSpace(line), "\uFEFF")
	if s == "" {
		return e, fmt.Errorf("%w: empty line", ErrSyntax)
	}
	ts, s, err := bracketed(s, "time")
	if err != nil {
		return e, err
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return e, fmt.Errorf("%w: time %q is not an integer number of microseconds", ErrSyntax, ts)
	}
	e.Time = t
	name, s, err := bracketed(s, "event name")
	if err != nil {
		return e, err
	}
	k, ok := ParseKind(name)
	if !ok {
		k, ok = parseKindFold(name)
	}
	if !ok {
		if name == "" || strings.ContainsAny(name, " \t:[]") {
			return e, fmt.Errorf("%w: %q is not an event name", ErrSyntax, name)
		}
		return e, &UnknownEventError{Name: strings.Clone(name)}
	}
	e.Kind = k
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var rest string
		s, rest, err = bracketed(s, "fields")
		if err != nil {
			return e, err
		}
		if rest = strings.TrimSpace(rest); rest != "" {
			return e, fmt.Errorf("%w: unexpected text %q after the fields", ErrSyntax, rest)
		}
	}
	if err := parseFields(&e, s); err != nil {
		return e, err
	}
	return e, nil
}

// parseKindFold is ParseKind ignoring letter case.
func parseKindFold(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n != "" && strings.EqualFold(n, name) {
			return Kind(k), true
		}
	}
	return 0, false
}

// bracketed splits "[inner] rest" (after optional white space) into the trimmed
// inner text and rest.
func bracketed(s, what string) (inner, rest string, err error) {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return "", "", fmt.Errorf("%w: missing [%s]", ErrSyntax, what)
	}
	if s[0] != '[' {
		return "", "", fmt.Errorf("%w: expected '[' before the %s, found %q", ErrSyntax, what, clip(s))
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", "", fmt.Errorf("%w: no ']' after the %s", ErrSyntax, what)
	}
	return strings.TrimSpace(s[1:end]), s[end+1:], nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// parseFields fills e's fields for its kind from s, a list of name:value.
func parseFields(e *Event, s string) error {
	want := kindFields[e.Kind]
	var seen uint16
	for {
		for len(s) > 0 && isSpace(s[0]) {
			s = s[1:]
		}
		if s == "" {
			break
		}
		i := 0
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		tok := s[:i]
		s = s[i:]
		colon := strings.IndexByte(tok, ':')
		if colon < 0 {
			return fmt.Errorf("%w: %s field %q is not name:value", ErrSyntax, e.Kind, clip(tok))
		}
		name, val := tok[:colon], tok[colon+1:]
		if val == "" { // "name: value"
			for len(s) > 0 && isSpace(s[0]) {
				s = s[1:]
			}
			i = 0
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			val, s = s[:i], s[i:]
		}
		f, ok := lookupField(want, name)
		if !ok {
			return fmt.Errorf("%w: %s has no field %q", ErrSyntax, e.Kind, clip(name))
		}
		if seen&(1<<f) != 0 {
			return fmt.Errorf("%w: %s field %s given twice", ErrSyntax, e.Kind, fieldNames[f])
		}
		seen |= 1 << f
		if err := setField(e, f, val); err != nil {
			return err
		}
	}
	for _, f := range want {
		if seen&(1<<f) == 0 {
			return fmt.Errorf("%w: %s lacks field %s", ErrSyntax, e.Kind, fieldNames[f])
		}
	}
	return nil
}

func lookupField(want []field, name string) (field, bool) {
	for _, f := range want {
		if fieldNames[f] == name || strings.EqualFold(fieldNames[f], name) {
			return f, true
		}
	}
	return 0, false
}

func setField(e *Event, f field, val string) error {
	switch f {
	case fSample, fEstimated, fDeviation, fTimeout:
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fieldError(e, f, val, "is not a number")
		}
		switch f {
		case fSample:
			e.SampleRTT = v
		case fEstimated:
			e.EstimatedRTT = v
		case fDeviation:
			e.DeviationRTT = v
		default:
			e.TimeoutInterval = v
		}
		return nil
	}
	v, err := strconv.ParseInt(val, 10, 64)
	if err != nil {
		return fieldError(e, f, val, "is not an integer")
	}
	switch f {
	case fSeq, fAck:
		if v < math.MinInt32 || v > math.MaxUint32 {
			return fieldError(e, f, val, "is out of the 32-bit range")
		}
		if f == fSeq {
			e.Seq = uint32(v)
		} else {
			e.Ack = uint32(v)
		}
	case fFlag:
		if v < 0 || v > math.MaxUint8 {
			return fieldError(e, f, val, "is not a flag byte (0..255)")
		}
		e.Flags = uint8(v)
	default:
		if v < math.MinInt || v > math.MaxInt {
			return fieldError(e, f, val, "is out of range")
		}
		if f == fType {
			e.Type = int(v)
		} else if f == fLength {
			e.Length = int(v)
		} else {
			e.Size = int(v)
		}
	}
	return nil
}

func fieldError(e *Event, f field, val, why string) error {
	return fmt.Errorf("%w: %s %s %q %s", ErrSyntax, e.Kind, fieldNames[f], clip(val), why)
}
