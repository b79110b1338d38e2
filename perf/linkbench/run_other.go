//go:build !linux

package linkbench

import (
	"context"
	"errors"
)

var errLinux = errors.New("linkbench: needs Linux (network namespaces, TUN devices)")

// Available reports that a bench cannot run here: it needs Linux.
func Available() error { return errLinux }

// Bench needs Linux.
func Bench(ctx context.Context, o Options) (*Report, error) { return nil, errLinux }
