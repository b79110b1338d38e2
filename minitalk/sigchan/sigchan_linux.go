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
	spin        time.Duration // the most Receive polls before it blocks
	spinning    bool          // spin now (there is room for it), pinned
	lookAt      time.Time     // when to look at the load again
	loadavg     [128]byte
	set         unix.Sigset_t
	info        [128]byte
	ts          unix.Timespec
	zero        unix.Timespec
	ready       bool         // setUp ran
	canPin      bool         // the thread is pinned while it spins
	free        unix.CPUSet  // the processors the thread may run on
	pinned      unix.CPUSet  // the processor(s) it is pinned to while it spins
	interrupted atomic.Value // the os.Signal that interrupted, if any
}

// Open returns a Port for this process. It locks the calling goroutine to its
// thread, which must be the main thread (runtime.LockOSThread in an init
// function keeps the main goroutine there), and blocks SIGUSR1 and SIGUSR2
// on it. From then on a symbol sent to this process by a Port is kept until
// Receive takes it. The thread is pinned (Options.Pin) the first time
// Receive waits.
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
	if opt.Interrupts {
		c := make(chan os.Signal, 1)
		signal.Notify(c, unix.SIGINT, unix.SIGTERM)
		go func() {
			p.interrupted.Store(<-c)
		}()
	}
	return p, nil
}

// setUp prepares the spin and the pinning, on the first wait: a pinned
// thread may have to wait for its processor, and a server must print its PID
// at once.
func (p *Port) setUp() {
	p.ready = true
	if unix.SchedGetaffinity(0, &p.free) != nil {
		p.free.Zero() // nothing known: no spin
	}
	if p.spin >= 0 && p.opt.Pin != PinNone && p.free.Count() >= 2 {
		first := -1
		for cpu := 0; first < 0 && cpu < 1024; cpu++ {
			if p.free.IsSet(cpu) {
				first = cpu
			}
		}
		p.pinned = p.free
		if p.opt.Pin == PinServer {
			p.pinned.Zero()
			p.pinned.Set(first)
		} else {
			p.pinned.Clear(first)
		}
		p.canPin = true
		if p.spin == 0 {
			p.spin = DefaultSpin
		}
	}
}

// lookEvery is how often a Port looks at the load to decide whether to spin.
const lookEvery = 10 * time.Millisecond

// look decides at time now whether to spin (see roomToSpin), and pins the
// thread while it does.
func (p *Port) look(now time.Time) {
	p.lookAt = now.Add(lookEvery)
	spin := false
	if f, err := os.Open("/proc/loadavg"); err == nil {
		n, _ := f.Read(p.loadavg[:])
		f.Close()
		spin = roomToSpin(p.loadavg[:n], p.free.Count())
	}
	if spin == p.spinning {
		return
	}
	p.spinning = spin
	if !p.canPin {
		return
	}
	set := &p.free
	if spin {
		set = &p.pinned
	}
	// pid 0: this thread only; the runtime's other threads run anywhere.
	if unix.SchedSetaffinity(0, set) != nil {
		p.canPin = false
	}
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
	// tgkill never blocks: a raw system call, which does not enter the Go
	// scheduler.
	_, _, errno := unix.RawSyscall(unix.SYS_TGKILL, uintptr(pid), uintptr(pid), uintptr(signalOf(s)))
	var err error
	if errno != 0 {
		err = errno
	}
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
// and its sender. While the machine has room for it (see roomToSpin) it
// polls for up to Options.Spin first, on its pinned thread, then blocks;
// otherwise it blocks at once, on a thread free to run anywhere.
func (p *Port) Receive(timeout time.Duration) (driver.Signal, bool, error) {
	if sig := p.interrupted.Load(); sig != nil {
		return driver.Signal{}, false, fmt.Errorf("%w by %v", ErrInterrupted, sig)
	}
	if timeout <= 0 {
		return p.poll()
	}
	if !p.ready {
		p.setUp()
	}
	start := time.Now()
	deadline := start.Add(timeout)
	if p.spin > 0 && !start.Before(p.lookAt) {
		p.look(start)
	}
	if p.spinning {
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

// Status tells from kill(pid, 0), /proc/<pid>/stat and /proc/<pid>/syscall
// whether process pid is running (R: on a processor or waiting for one; or
// asleep waiting for signals in rt_sigtimedwait, as a client of this package
// does), idle (stopped, traced, or asleep in anything else) or gone (no such
// process, a zombie).
func (p *Port) Status(pid int) driver.Status {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return driver.StatusGone
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return driver.StatusRunning // it exists; nothing more is known
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return driver.StatusRunning
	}
	switch stat[i+2] {
	case 'R':
		return driver.StatusRunning
	case 'Z', 'X', 'x':
		return driver.StatusGone
	case 'S', 'D':
		if waitingForSignals(pid) {
			// A client waiting for an answer (or for its retry timer,
			// its last symbol having merged with another's): alive.
			return driver.StatusRunning
		}
	}
	return driver.StatusIdle
}

// waitingForSignals reports whether the main thread of process pid is in
// rt_sigtimedwait, as /proc/<pid>/syscall says ("128 0x... ..." on amd64),
// or whether that cannot be known (the file is unreadable without ptrace
// access): then it is taken as waiting, so that a live client is not dropped.
func waitingForSignals(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/syscall")
	if err != nil {
		return true
	}
	nr, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte(" "))
	n, err := strconv.Atoi(string(nr))
	return err != nil || n == unix.SYS_RT_SIGTIMEDWAIT
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
