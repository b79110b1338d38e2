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

// Do needs Linux.
func (l *Lab) Do(h Host, f func() error) error { return errors.New("labnet: needs Linux") }

// SetSysctl needs Linux.
func (l *Lab) SetSysctl(h Host, name, value string) error { return errors.New("labnet: needs Linux") }

// Sysctl needs Linux.
func (l *Lab) Sysctl(h Host, name string) (string, error) {
	return "", errors.New("labnet: needs Linux")
}

// DeviceDrops needs Linux.
func (l *Lab) DeviceDrops(h Host) (uint64, error) { return 0, errors.New("labnet: needs Linux") }
