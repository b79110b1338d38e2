//go:build !linux

package labnet

import (
	"errors"
	"syscall"

	"github.com/tjunet/tjunet/netem"
)

type emulator struct{}

func (e *emulator) close() {}

func hostAttr() *syscall.SysProcAttr { return nil }

// Emulate needs Linux.
func (l *Lab) Emulate() error { return errors.New("labnet: needs Linux") }

// EmulatorStats returns nothing: no emulator runs off Linux.
func (l *Lab) EmulatorStats() (up, down netem.Stats, ok bool) { return up, down, false }

// StopEmulator does nothing off Linux.
func (l *Lab) StopEmulator() {}
