//go:build !linux

package main

import "os/exec"

// dieWithDemo does nothing where there is no Pdeathsig.
func dieWithDemo(cmd *exec.Cmd) {}
