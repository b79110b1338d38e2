package traceio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tjunet/tjunet/trace"
)

// MaxLineLength is the longest line a Scanner accepts; a longer line is
// reported as a LineError and skipped. Real trace lines are under 200 bytes.
const MaxLineLength = 4096

// LineError reports a trace line that could not be parsed.
type LineError struct {
	File string // name of the trace file, or "" if not known
	Line int    // line number, counting from 1
	Text string // the line, shortened to at most 80 bytes, without its line ending
	Err  error  // why: wraps trace.ErrSyntax or trace.ErrUnknownEvent
}

// Error returns "file:line: reason", or "line N: reason" without a file name.
func (e *LineError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the reason, so errors.Is(err, trace.ErrUnknownEvent) works.
func (e *LineError) Unwrap() error { return e.Err }

// Unknown reports whether the line was skipped only because its event name is
// unknown, as the lab's plotting script does silently.
func (e *LineError) Unknown() bool { return errors.Is(e.Err, trace.ErrUnknownEvent) }

// Scanner reads events from a trace one at a time. Lines that cannot be parsed
// do not stop it: Scan skips them and records a LineError, available from
// LineErrors (or passed to OnLineError if set). Blank lines are ignored.
//
//	sc := traceio.NewScanner(f)
//	sc.File = "client.event.trace"
//	for sc.Scan() {
//		e := sc.Event()
//		...
//	}
//	if err := sc.Err(); err != nil { ... } // reading failed
//	for _, le := range sc.LineErrors() { ... } // bad lines
type Scanner struct {
	// File names the trace in LineErrors; set it before the first Scan.
	File string
	// OnLineError, if not nil, is called for each bad line instead of
	// recording it for LineErrors.
	OnLineError func(*LineError)

	r    *bufio.Reader
	line int
	ev   trace.Event
	errs []*LineError
	err  error
	long []byte // accumulates a line split by bufio
}

// NewScanner returns a Scanner reading from r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 64<<10)}
}

// Scan advances to the next event. It returns false at the end of the input
// or when reading fails; Err tells which.
func (s *Scanner) Scan() bool {
	for s.err == nil {
		raw, err := s.readLine()
		if err != nil {
			if err != io.EOF {
				s.err = err
			} else if raw == nil {
				return false
			}
		}
		if raw == nil {
			continue
		}
		s.line++
		if len(raw) > MaxLineLength {
			s.report(raw, fmt.Errorf("%w: line longer than %d bytes", trace.ErrSyntax, MaxLineLength))
			continue
		}
		text := string(raw)
		if strings.TrimSpace(text) == "" {
			continue
		}
		ev, perr := trace.ParseLine(text)
		if perr != nil {
			s.report(raw, perr)
			continue
		}
		s.ev = ev
		return true
	}
	return false
}

// readLine returns the next line without its '\n'. At the end of the input it
// returns the last unterminated line (if any) with io.EOF, then nil, io.EOF.
func (s *Scanner) readLine() ([]byte, error) {
	s.long = s.long[:0]
	for {
		b, err := s.r.ReadSlice('\n')
		switch {
		case err == nil:
			b = b[:len(b)-1]
			if len(s.long) > 0 {
				return append(s.long, b...), nil
			}
			return b, nil
		case err == bufio.ErrBufferFull:
			if len(s.long) <= MaxLineLength {
				s.long = append(s.long, b...)
			}
			continue
		default:
			if len(s.long) > 0 || len(b) > 0 {
				return append(s.long, b...), err
			}
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, err
		}
	}
}

func (s *Scanner) report(raw []byte, err error) {
	text := strings.TrimRight(string(raw[:min(len(raw), 80)]), "\r\n")
	le := &LineError{File: s.File, Line: s.line, Text: text, Err: err}
	if s.OnLineError != nil {
		s.OnLineError(le)
		return
	}
	s.errs = append(s.errs, le)
}

// Event returns the event found by the last successful Scan.
func (s *Scanner) Event() trace.Event { return s.ev }

// Line returns the number of lines read so far, which is the line number of
// the current event after a successful Scan.
func (s *Scanner) Line() int { return s.line }

// Err returns the error that stopped reading, or nil at a clean end of input.
// Bad lines are not errors here; see LineErrors.
func (s *Scanner) Err() error {
	if s.err == nil {
		return nil
	}
	if s.File != "" {
		return fmt.Errorf("reading trace %s: %w", s.File, s.err)
	}
	return fmt.Errorf("reading trace: %w", s.err)
}

// LineErrors returns the bad lines met so far, in order.
func (s *Scanner) LineErrors() []*LineError { return s.errs }

// Read reads a whole trace from r. It returns the events of the lines that
// parse, a LineError for each line that does not (including lines with an
// unknown event name, which a caller may choose to ignore with
// LineError.Unknown), and a non-nil err only if reading r failed; the events
// read before the failure are still returned.
func Read(r io.Reader) (events []trace.Event, errs []*LineError, err error) {
	return read(r, "")
}

// ReadFile reads the trace file name as Read does, with name in the
// LineErrors.
func ReadFile(name string) (events []trace.Event, errs []*LineError, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return read(f, name)
}

func read(r io.Reader, name string) ([]trace.Event, []*LineError, error) {
	sc := NewScanner(r)
	sc.File = name
	var events []trace.Event
	for sc.Scan() {
		events = append(events, sc.Event())
	}
	return events, sc.LineErrors(), sc.Err()
}
