//go:build linux

package main

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// copyTree copies the files under src (relative to the module root) into dst.
func copyTree(t *testing.T, root, dst string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		err := filepath.WalkDir(filepath.Join(root, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			if base := strings.TrimSuffix(d.Name(), "_bonus"); base == "server" || base == "client" {
				return nil // binaries of an earlier make here
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func makeIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("make", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestMakeBuildsServerAndClientThatTalk does what minitalk's testers do in a
// fresh copy of the sources: make, make again (nothing to do), ./server,
// ./client <pid> <message>, and the other targets.
func TestMakeBuildsServerAndClientThatTalk(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dst := t.TempDir()
	copyTree(t, "../..", dst, "go.mod", "go.sum", "minitalk", "internal/cli", "cmd/minitalk")
	dir := filepath.Join(dst, "cmd", "minitalk")

	makeIn(t, dir)
	for _, name := range []string{"server", "client"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("make built no %s: %v", name, err)
		}
	}
	if out := makeIn(t, dir); !strings.Contains(out, "Nothing to be done") {
		t.Errorf("a second make did something:\n%s", out)
	}
	makeIn(t, dir, "bonus")
	if out := makeIn(t, dir, "bonus"); !strings.Contains(out, "Nothing to be done") {
		t.Errorf("a second make bonus did something:\n%s", out)
	}

	srv := exec.Command("./server")
	srv.Dir = dir
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("the server printed nothing")
	}
	pid := lines.Text()
	if pid != strconv.Itoa(srv.Process.Pid) {
		t.Fatalf("first line %q, want the PID alone", pid)
	}
	cli := exec.Command("./client_bonus", pid, "Hello from ./client 👋")
	cli.Dir = dir
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("./client: %v\n%s", err, out)
	}
	got := make(chan string, 1)
	go func() {
		lines.Scan()
		got <- lines.Text()
	}()
	select {
	case line := <-got:
		if line != "Hello from ./client 👋" {
			t.Fatalf("server printed %q", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server printed no message")
	}

	makeIn(t, dir, "clean")
	makeIn(t, dir, "fclean")
	for _, name := range []string{"server", "client", "server_bonus", "client_bonus"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("make fclean left %s", name)
		}
	}
	makeIn(t, dir, "re")
	if _, err := os.Stat(filepath.Join(dir, "client")); err != nil {
		t.Errorf("make re built no client: %v", err)
	}
}
