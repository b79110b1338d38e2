package labpeertest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tjunet/tjunet/labnet"
	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/labpeer/labpeertest"
)

// The test binary doubles as the student's server on the lab's server
// host: with LABPEERTEST_HELPER=student it serves one connection on UDP
// port 20218 and writes what it read to the file named by its argument.
// Otherwise it runs the tests and fails them if a goroutine they started
// is still running when they end.
func TestMain(m *testing.M) {
	if os.Getenv("LABPEERTEST_HELPER") == "student" {
		os.Exit(studentServer(os.Args[1]))
	}
	goleak.VerifyTestMain(m)
}

func studentServer(out string) int {
	f, err := os.Create(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", labpeer.LabUDPPort))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	s := &labpeertest.Skeleton{Habits: labpeertest.Student, Out: f}
	if err := s.Run(ctx, pc, labpeer.AppAcceptReadClose); err != nil {
		fmt.Fprintln(os.Stderr, "student server:", err)
		return 1
	}
	return 0
}

// TestLabnetSendToStudent runs "tju send --lab --isn 0 --lab-window" on
// the lab's client host against the student's server (it assumes the
// peer's ISN is 0, says window 1 and closes with a FIN of seq 0) on the
// server host, across two network namespaces: 5 MB arrive intact on a
// clean link and at 1% loss / 20 ms of delay. It needs root.
func TestLabnetSendToStudent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tju and runs programs in network namespaces")
	}
	if err := labnet.Available(); err != nil {
		t.Skipf("skipping the two-host test: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tju")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tju").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := filepath.Join(dir, "in.bin")
	if err := os.WriteFile(in, testData(5_000_000), 0o644); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("s%d", os.Getpid()%100000)
	for _, tc := range []struct {
		name   string
		impair []string
	}{
		{"clean", nil},
		{"1% loss, 20 ms", []string{"--loss", "1%", "--delay", "20ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.impair != nil {
				if err := labnet.EmulatorAvailable(); err != nil {
					t.Skipf("skipping: %v", err)
				}
			}
			out := filepath.Join(dir, "out.bin")
			os.Remove(out)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			args := append([]string{"labnet", "run", "--id", id, "--grace", "3s"}, tc.impair...)
			args = append(args, "--", os.Args[0], out, ":::",
				bin, "send", "--lab", "--isn", "0", "--lab-window", "--timeout", "20s", "172.17.0.3", in)
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append(os.Environ(), "LABPEERTEST_HELPER=student")
			output, err := cmd.CombinedOutput()
			t.Logf("tju %q:\n%s", args, output)
			if err != nil {
				t.Errorf("tju labnet run: %v", err)
			}
			a, _ := os.ReadFile(in)
			b, _ := os.ReadFile(out)
			if sha256.Sum256(a) != sha256.Sum256(b) {
				t.Errorf("the student's server wrote %d bytes, not the %d sent (or they differ)", len(b), len(a))
			}
			if !bytes.Contains(output, []byte("sent")) {
				t.Errorf("tju send reported no transfer")
			}
			exec.Command(bin, "labnet", "down", "--id", id).Run()
			if left := labnet.Leftovers(id); len(left) > 0 {
				t.Errorf("left behind: %q", left)
			}
		})
	}
}
