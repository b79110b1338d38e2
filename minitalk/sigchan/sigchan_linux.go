//go:build linux

package sigchan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
)

// wordBits is the number of signals in one word of a unix.Sigset_t.
const wordBits = 8 * uint(unsafe.Sizeof(unix.Sigset_t{}.Val[0]))

// kernelSigsetSize is the size of the kernel's sigset_t (64 signals).
const kernelSigsetSize = 8

func sigset(sigs ...syscall.Signal) unix.Sigset_t {
	var s unix.Sigset_t
	for _, sig := range sigs {
		n := uint(sig) - 1
		s.Val[n/wordBits] |= 1 << (n % wordBits)
	}
	return s
}

// symbols are the two signals of the channel.
var symbols = []syscall.Signal{unix.SIGUSR1, unix.SIGUSR2}

// Port is a process's end of the signal channel. It implements
// driver.Port. It must be used only by the goroutine that opened it, which
// stays locked to the main thread.
type Port struct {
	opt         Options
	spin        time.Duration
	set         unix.Sigset_t
	info        [128]byte
	ts          unix.Timespec
	zero        unix.Timespec
	interrupted atomic.Value // the os.Signal that interrupted, if any
}

// Open returns a Port for this process. It locks the calling goroutine to its
// thread, which must be the main thread (runtime.LockOSThread in an init
// function keeps the main goroutine there), and blocks SIGUSR1 and SIGUSR2
// on it. From then on a symbol sent to this process by a Port is kept until
// Receive takes it.
func Open(opt Options) (*Port, error) {
	p := &Port{opt: opt, set: sigset(symbols...), spin: opt.Spin}
	runtime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		runtime.UnlockOSThread()
		return nil, errors.New("sigchan: Open must run on the main thread")
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &p.set, nil); err != nil {
		return nil, fmt.Errorf("sigchan: blocking signals: %w", err)
	}
	if pin(opt.Pin) && p.spin == 0 {
		p.spin = DefaultSpin
	}
	if opt.Interrupts {
		c := make(chan os.Signal, 1)
		signal.Notify(c, unix.SIGINT, unix.SIGTERM)
		go func() {
			p.interrupted.Store(<-c)
		}()
	}
	return p, nil
}

// pin pins the calling thread as mode says and reports whether it is now on
// a processor its peer is not on (so that spinning makes sense).
func pin(mode Pin) bool {
	if mode == PinNone {
		return false
	}
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil || set.Count() < 2 {
		return false
	}
	first := -1
	for cpu := 0; first < 0 && cpu < 1024; cpu++ {
		if set.IsSet(cpu) {
			first = cpu
		}
	}
	if mode == PinServer {
		set.Zero()
		set.Set(first)
	} else {
		set.Clear(first)
	}
	// pid 0: this thread only; the runtime's other threads run anywhere.
	return unix.SchedSetaffinity(0, &set) == nil
}

func signalOf(s minitalk.Symbol) syscall.Signal {
	if s == minitalk.One {
		return unix.SIGUSR1
	}
	return unix.SIGUSR2
}

// Send sends s to the main thread of process pid: SIGUSR1 for 1, SIGUSR2
// for 0.
func (p *Port) Send(pid int, s minitalk.Symbol) error {
	if pid <= 0 {
		return fmt.Errorf("sigchan: send to %d: %w", pid, driver.ErrNoProcess)
	}
	err := unix.Tgkill(pid, pid, signalOf(s))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ESRCH):
		return fmt.Errorf("sigchan: send to %d: %w", pid, driver.ErrNoProcess)
	}
	return fmt.Errorf("sigchan: send to %d: %w", pid, err)
}

// siPidOffset is where si_pid lies in siginfo_t: after si_signo, si_errno,
// si_code and, on 64-bit systems, the union's alignment padding.
const siPidOffset = 8 + 4*unsafe.Sizeof(uintptr(0))/4

// signal returns the symbol rt_sigtimedwait returned as r, with its sender.
func (p *Port) signal(r uintptr) driver.Signal {
	pid := int(*(*int32)(unsafe.Pointer(&p.info[siPidOffset])))
	if syscall.Signal(r) == unix.SIGUSR1 {
		return driver.Signal{From: pid, Sym: minitalk.One}
	}
	return driver.Signal{From: pid, Sym: minitalk.Zero}
}

// poll takes a pending symbol without waiting. It does not enter the Go
// scheduler (a raw system call that never blocks), which saves a tenth of a
// microsecond a call in the spin.
func (p *Port) poll() (driver.Signal, bool, error) {
	r, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGTIMEDWAIT,
		uintptr(unsafe.Pointer(&p.set)), uintptr(unsafe.Pointer(&p.info[0])),
		uintptr(unsafe.Pointer(&p.zero)), kernelSigsetSize, 0, 0)
	switch errno {
	case 0:
		return p.signal(r), true, nil
	case unix.EAGAIN, unix.EINTR:
		return driver.Signal{}, false, nil
	}
	return driver.Signal{}, false, fmt.Errorf("sigchan: rt_sigtimedwait: %w", errno)
}

// Receive waits up to timeout for SIGUSR1 or SIGUSR2 and returns the symbol
// and its sender. It polls for up to Options.Spin first, then blocks.
func (p *Port) Receive(timeout time.Duration) (driver.Signal, bool, error) {
	if sig := p.interrupted.Load(); sig != nil {
		return driver.Signal{}, false, fmt.Errorf("%w by %v", ErrInterrupted, sig)
	}
	if sig, ok, err := p.poll(); ok || err != nil || timeout <= 0 {
		return sig, ok, err
	}
	start := time.Now()
	deadline := start.Add(timeout)
	if p.spin > 0 {
		spinUntil := start.Add(min(p.spin, timeout))
		for {
			if sig, ok, err := p.poll(); ok || err != nil {
				return sig, ok, err
			}
			if !time.Now().Before(spinUntil) {
				break
			}
		}
	}
	for {
		if sig := p.interrupted.Load(); sig != nil {
			return driver.Signal{}, false, fmt.Errorf("%w by %v", ErrInterrupted, sig)
		}
		timeout = time.Until(deadline)
		if timeout <= 0 {
			return p.poll()
		}
		p.ts = unix.NsecToTimespec(int64(timeout))
		r, _, errno := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT,
			uintptr(unsafe.Pointer(&p.set)), uintptr(unsafe.Pointer(&p.info[0])),
			uintptr(unsafe.Pointer(&p.ts)), kernelSigsetSize, 0, 0)
		switch errno {
		case 0:
			return p.signal(r), true, nil
		case unix.EAGAIN:
			return driver.Signal{}, false, nil
		case unix.EINTR:
			// Another signal ran a handler on this thread (the Go
			// scheduler's preemption, SIGINT): wait for the rest of the
			// time.
			continue
		}
		return driver.Signal{}, false, fmt.Errorf("sigchan: rt_sigtimedwait: %w", errno)
	}
}

// Alive reports whether process pid exists and is not a zombie.
func (p *Port) Alive(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// Handles reports whether process pid blocks, ignores or catches SIGUSR1, as
// /proc/<pid>/status tells; a process that does none of these would be
// killed by the first symbol, so it cannot be a minitalk server. known is
// false when the kernel does not tell (no such file, no permission).
func Handles(pid int) (handles, known bool) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false, false
	}
	bit := uint64(1) << (unix.SIGUSR1 - 1)
	seen := 0
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(name) {
		case "SigBlk", "SigIgn", "SigCgt":
			mask, err := strconv.ParseUint(string(bytes.TrimSpace(value)), 16, 64)
			if err != nil {
				return false, false
			}
			seen++
			if mask&bit != 0 {
				return true, true
			}
		}
	}
	return false, seen == 3
}
