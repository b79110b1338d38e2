package xfer_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/testio"
	"github.com/tjunet/tjunet/xfer"
)

// The data of the crash tests: what the target holds before, what the
// crashing process adds, and what it receives into a partial file.
// The transfer is large enough that appending it in place would take
// many system calls, and a kill could land between them.
var (
	crashOld     = func() []byte { return chachaData(4<<20, 21) }
	crashNew     = func() []byte { return chachaData(16<<20, 22) }
	crashPartial = func() []byte { return chachaData(3<<20+777, 23) }
)

// chachaData returns n pseudo-random bytes from seed, quickly.
func chachaData(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// TestCrashHelper is not a test: it is the process the crash tests start
// and kill (XFER_CRASH_HELPER says what it does, XFER_CRASH_FILE on which
// file). Run by go test, it returns at once.
func TestCrashHelper(t *testing.T) {
	name := os.Getenv("XFER_CRASH_FILE")
	switch os.Getenv("XFER_CRASH_HELPER") {
	case "":
		return
	case "append":
		// Receive crashNew for appending, say where it is, then commit
		// when told (stdin) and say so.
		out, err := xfer.CreateOutput(name, xfer.OutputOptions{Append: true})
		if err != nil {
			t.Fatal(err)
		}
		out.Write(crashNew())
		if err := out.Flush(); err != nil {
			t.Fatal(err)
		}
		fmt.Println(out.TempPath())
		os.Stdin.Read(make([]byte, 1))
		if err := out.Commit(); err != nil {
			t.Fatal(err)
		}
		fmt.Println("committed")
	case "partial":
		// Receive crashPartial with --keep-partial, 64 KiB at a time, as
		// a network would deliver it, until killed.
		out, err := xfer.CreateOutput(name, xfer.OutputOptions{KeepPartial: true})
		if err != nil {
			t.Fatal(err)
		}
		data := crashPartial()
		for len(data) > 0 {
			n := min(len(data), 64<<10)
			out.Write(data[:n])
			data = data[n:]
			time.Sleep(time.Millisecond)
		}
		select {} // a transfer that never ends, until the kill
	default:
		t.Fatalf("XFER_CRASH_HELPER=%q", os.Getenv("XFER_CRASH_HELPER"))
	}
}

// crashHelper starts this test binary as TestCrashHelper doing what.
func crashHelper(t *testing.T, what, file string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout *bufio.Reader) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "XFER_CRASH_HELPER="+what, "XFER_CRASH_FILE="+file)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdin, bufio.NewReader(out)
}

func skipWithoutProcesses(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" || runtime.GOOS == "ios" || runtime.GOOS == "android" {
		t.Skip("needs to start and kill a process")
	}
	if testing.Short() {
		t.Skip("starts and kills processes (-short)")
	}
}

// A process killed at any moment of an appending Commit leaves the target
// holding either what it held before or that and the whole transfer,
// never a torn mix; and while the target is the old one, the transfer's
// data is still on disk.
func TestAppendCommitSurvivesAKillAtAnyMoment(t *testing.T) {
	skipWithoutProcesses(t)
	old, add := crashOld(), crashNew()
	both := append(append([]byte{}, old...), add...)
	const runs = 12
	var took time.Duration // of a Commit that is not killed
	var before, after, midway int
	for i := range runs + 1 {
		dir := t.TempDir()
		final := filepath.Join(dir, "all.bin")
		if err := os.WriteFile(final, old, 0o640); err != nil {
			t.Fatal(err)
		}
		cmd, stdin, stdout := crashHelper(t, "append", final)
		line, err := stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("run %d: the helper said nothing: %v", i, err)
		}
		src := strings.TrimSpace(line)
		start := time.Now()
		stdin.Write([]byte{1})
		if i == 0 {
			// The first run measures how long the Commit takes; the
			// others are killed at evenly spread moments of twice that.
			if line, err := stdout.ReadString('\n'); line != "committed\n" {
				t.Fatalf("the helper said %q (%v), want committed", line, err)
			}
			took = time.Since(start)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("the helper: %v", err)
			}
		} else {
			time.Sleep(2 * took * time.Duration(i) / runs)
			cmd.Process.Kill()
			cmd.Wait()
		}
		got := readFile(t, final)
		switch {
		case bytes.Equal(got, both):
			if i > 0 {
				after++
			}
		case bytes.Equal(got, old):
			before++
			if kept, err := os.ReadFile(src); err != nil || !bytes.Equal(kept, add) {
				t.Errorf("run %d: the target is the old one and the transfer is lost (%s: %d bytes, %v)", i, src, len(kept), err)
			}
			if n := len(testio.DirNames(t, dir)); n > 2 {
				midway++ // the copy beside the target was being written
			}
		default:
			t.Fatalf("run %d: the target holds %d bytes: neither the old %d nor the old and the transfer (%d)", i, len(got), len(old), len(both))
		}
		if i == 0 {
			if st, err := os.Stat(final); err != nil || st.Mode().Perm() != 0o640 {
				t.Errorf("after the append the target's mode is %v (%v), want the old 0640", st.Mode(), err)
			}
			if names := testio.DirNames(t, dir); len(names) != 1 {
				t.Errorf("after a complete append the directory holds %q", names)
			}
		}
	}
	t.Logf("a Commit took %v; of %d kills, %d left the old target (%d while its copy was being written), %d the new one", took, runs, before, midway, after)
}

// A failed appending Commit leaves the target as it was and the
// transfer's data where Abort and the error say.
func TestAppendCommitFailureKeepsTheTransfer(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "all.bin")
	out, err := xfer.CreateOutput(final, xfer.OutputOptions{Append: true})
	if err != nil {
		t.Fatal(err)
	}
	out.Write([]byte("second;"))
	// The target becomes something that cannot be read as a file.
	if err := os.Mkdir(final, 0o755); err != nil {
		t.Fatal(err)
	}
	err = out.Commit()
	if err == nil {
		t.Fatal("appending to a directory succeeded")
	}
	kept, aerr := out.Abort()
	if aerr != nil || kept != out.TempPath() || !strings.Contains(err.Error(), kept) {
		t.Fatalf("Commit: %v; Abort: %q, %v; want the data in %s, named in the error", err, kept, aerr, out.TempPath())
	}
	if got := readFile(t, kept); string(got) != "second;" {
		t.Errorf("the kept transfer holds %q", got)
	}
	if st, err := os.Stat(final); err != nil || !st.IsDir() {
		t.Errorf("the target changed: %v, %v", st, err)
	}
	if d := xfer.Describe(out, kept); !strings.Contains(d, kept) || strings.Contains(d, "resume") {
		t.Errorf("Describe: %q", d)
	}
}

// A receiver killed mid-transfer with KeepPartial leaves a partial file
// that is a prefix of the data (as much as had reached the file), and a
// resumed transfer makes the target byte for byte the data.
func TestKeepPartialSurvivesAKillAndResumes(t *testing.T) {
	skipWithoutProcesses(t)
	dir := t.TempDir()
	final := filepath.Join(dir, "got.bin")
	partial := final + xfer.PartialSuffix
	data := crashPartial()
	cmd, _, _ := crashHelper(t, "partial", final)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := os.Stat(partial); err == nil && st.Size() >= 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the receiver wrote less than 1 MiB in 30 s")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	mustNotExist(t, final)
	part := readFile(t, partial)
	if len(part) < 1<<20 || len(part) >= len(data) || !bytes.Equal(part, data[:len(part)]) {
		t.Fatalf("after the kill the partial file holds %d bytes, not a prefix of the %d sent (at least 1 MiB, not all)", len(part), len(data))
	}
	synctest.Test(t, func(t *testing.T) {
		out, err := xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
		if err != nil {
			t.Fatal(err)
		}
		if out.Offset() != int64(len(part)) {
			t.Fatalf("Offset %d, want %d", out.Offset(), len(part))
		}
		c, s := pair(t, nil)
		snd, rcv := transfer(t, c, s, bytes.NewReader(data), int64(len(data)), out,
			xfer.SendOptions{Framed: true}, xfer.ReceiveOptions{Framed: true})
		if snd.err != nil || rcv.err != nil {
			t.Fatalf("resume: send %v, receive %v", snd.err, rcv.err)
		}
		if rcv.res.Offset != int64(len(part)) || !rcv.res.Verified {
			t.Errorf("resumed from %d (verified %v), want from %d", rcv.res.Offset, rcv.res.Verified, len(part))
		}
	})
	if got := readFile(t, final); !bytes.Equal(got, data) {
		t.Fatalf("resumed file: %d bytes, not byte-exact (want %d)", len(got), len(data))
	}
	if names := testio.DirNames(t, dir); len(names) != 1 {
		t.Errorf("after the resume the directory holds %q", names)
	}
	t.Logf("killed with %s bytes in the partial file; resumed to %d", strconv.Itoa(len(part)), len(data))
}

// Two receivers cannot write one partial file at once.
func TestPartialFileHasOneWriter(t *testing.T) {
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1":
		t.Skip("no flock(2) here")
	}
	final := filepath.Join(t.TempDir(), "got.bin")
	out, err := xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	out.Write([]byte("abc"))
	if _, err := xfer.CreateOutput(final, xfer.OutputOptions{Resume: true}); err == nil {
		t.Error("a second Resume of a partial file being written succeeded")
	} else if !strings.Contains(err.Error(), "another receiver") {
		t.Errorf("a second Resume: %v, want it to say another receiver writes the file", err)
	}
	if _, err := out.Abort(); err != nil {
		t.Fatal(err)
	}
	out, err = xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
	if err != nil {
		t.Fatalf("Resume after the first writer ended: %v", err)
	}
	if out.Offset() != 3 {
		t.Errorf("Offset %d, want 3", out.Offset())
	}
	out.Abort()
}

// An aborted KeepPartial output that received nothing leaves no empty
// partial file to stop the next KeepPartial.
func TestAbortWithNothingReceivedKeepsNoPartialFile(t *testing.T) {
	final := filepath.Join(t.TempDir(), "got.bin")
	for range 2 {
		out, err := xfer.CreateOutput(final, xfer.OutputOptions{KeepPartial: true})
		if err != nil {
			t.Fatal(err)
		}
		kept, err := out.Abort()
		if kept != "" || err != nil {
			t.Fatalf("Abort: %q, %v; want nothing kept", kept, err)
		}
		mustNotExist(t, final+xfer.PartialSuffix)
	}
}

// An output in a directory that does not exist fails naming that
// directory, not the hidden temporary name.
func TestCreateOutputInAMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := xfer.CreateOutput(filepath.Join(dir, "got.bin"), xfer.OutputOptions{})
	if err == nil || !strings.Contains(err.Error(), dir+": ") || strings.Contains(err.Error(), "tju-tmp") {
		t.Errorf("CreateOutput: %v; want an error naming %s", err, dir)
	}
}

// A resumed transfer whose SHA-256 does not match keeps only the part the
// sender checked (the resumed prefix) in the partial file, so that the
// next resume continues from there instead of being refused; a first
// attempt that does not match keeps nothing.
func TestChecksumMismatchKeepsOnlyTheCheckedPrefix(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "got.bin")
	partial := final + xfer.PartialSuffix
	data := chachaData(5000, 31)
	if err := os.WriteFile(partial, data[:2000], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	bad := sha256.Sum256([]byte("not the data"))
	c := &fakeConn{r: bytes.NewReader(framedStream(data[2000:], bad[:]))}
	_, err = xfer.NewReceiver(c, out, xfer.ReceiveOptions{Framed: true, Accept: out.Commit}).Run(context.Background())
	if !errors.Is(err, xfer.ErrChecksum) {
		t.Fatalf("err %v, want ErrChecksum", err)
	}
	kept, aerr := out.Abort()
	if aerr != nil || kept != partial {
		t.Fatalf("Abort: %q, %v; want %s kept", kept, aerr, partial)
	}
	if got := readFile(t, partial); !bytes.Equal(got, data[:2000]) {
		t.Errorf("the partial file holds %d bytes, want the 2000 resumed from", len(got))
	}
	mustNotExist(t, final)

	// Resumed again, with the right trailer: byte for byte the data.
	out, err = xfer.CreateOutput(final, xfer.OutputOptions{Resume: true})
	if err != nil || out.Offset() != 2000 {
		t.Fatalf("Resume: offset %d, %v; want 2000", out.Offset(), err)
	}
	good := sha256.Sum256(data)
	c = &fakeConn{r: bytes.NewReader(framedStream(data[2000:], good[:]))}
	if _, err := xfer.NewReceiver(c, out, xfer.ReceiveOptions{Framed: true, Accept: out.Commit}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, final); !bytes.Equal(got, data) {
		t.Errorf("resumed file: %d bytes, not the data", len(got))
	}

	// A first attempt (nothing resumed) that does not match keeps nothing.
	final2 := filepath.Join(dir, "second.bin")
	out, _ = xfer.CreateOutput(final2, xfer.OutputOptions{KeepPartial: true})
	c = &fakeConn{r: bytes.NewReader(framedStream(data, bad[:]))}
	if _, err := xfer.NewReceiver(c, out, xfer.ReceiveOptions{Framed: true, Accept: out.Commit}).Run(context.Background()); !errors.Is(err, xfer.ErrChecksum) {
		t.Fatalf("err %v, want ErrChecksum", err)
	}
	if kept, _ := out.Abort(); kept != "" {
		t.Errorf("kept %s after a mismatch with nothing resumed", kept)
	}
	mustNotExist(t, final2+xfer.PartialSuffix)
}
