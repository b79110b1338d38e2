package main

import (
	"os/exec"
	"syscall"
)

// dieWithDemo makes the kernel end cmd when the demo ends, however it ends
// (its output closed, a signal): the demo's main goroutine, which starts the
// processes, stays on the main thread (see init), so the parent thread that
// Pdeathsig watches lives as long as the demo.
func dieWithDemo(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
