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
)

// reexecEnv marks a process that was executed again by BlockInAllThreads.
const reexecEnv = "MINITALK_SIGBLOCKED"

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

func has(set *unix.Sigset_t, sig syscall.Signal) bool {
	n := uint(sig) - 1
	return set.Val[n/wordBits]&(1<<(n%wordBits)) != 0
}

func blockedHere(sigs ...syscall.Signal) (bool, error) {
	var cur unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &cur); err != nil {
		return false, fmt.Errorf("sigchan: reading the signal mask: %w", err)
	}
	for _, s := range sigs {
		if !has(&cur, s) {
			return false, nil
		}
	}
	return true, nil
}

// symbols are the two signals of the channel.
var symbols = []syscall.Signal{unix.SIGUSR1, unix.SIGUSR2}

// startedBlocked records that BlockInAllThreads found the signals blocked
// from the start of the process, and so in every thread.
var startedBlocked atomic.Bool

// BlockInAllThreads makes sure that SIGUSR1 and SIGUSR2 are blocked in every
// thread of the process.
// If the process did not start with them blocked, it blocks them on this
// thread and executes the program again (same PID, arguments and
// environment), so it does not return. Call it first thing in main, from the
// main goroutine locked to the main thread.
//
// A Port opened afterwards may then be used from any goroutine, which is not
// locked to its thread: when the Go scheduler preempts it, it resumes at once
// on the same thread, where a locked goroutine would wait for a hand-off
// between threads, for many milliseconds on a loaded machine.
func BlockInAllThreads() error {
	sigs := symbols
	ok, err := blockedHere(sigs...)
	if err != nil || ok {
		if ok {
			os.Unsetenv(reexecEnv)
			startedBlocked.Store(true)
		}
		return err
	}
	if os.Getenv(reexecEnv) != "" {
		return errors.New("sigchan: signals still not blocked after executing again")
	}
	runtime.LockOSThread()
	set := sigset(sigs...)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		return fmt.Errorf("sigchan: blocking signals: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	env := append(os.Environ(), reexecEnv+"=1")
	err = syscall.Exec("/proc/self/exe", os.Args, env)
	if err != nil {
		err = syscall.Exec(exe, os.Args, env)
	}
	return fmt.Errorf("sigchan: executing %s again: %w", exe, err)
}

// Port is a process's end of the signal channel. It implements
// minitalk.Port. It must be used by one goroutine at a time: after
// BlockInAllThreads any goroutine, otherwise only the one that opened it.
type Port struct {
	opt         Options
	set         unix.Sigset_t
	info        [128]byte
	ts          unix.Timespec
	interrupted atomic.Value // the os.Signal that interrupted, if any
}

// Open returns a Port for this process. After BlockInAllThreads it only
// prepares the wait; otherwise it locks the calling goroutine to its thread,
// which must be the main thread, and blocks SIGUSR1 and SIGUSR2 there: peers
// must then send to that thread (Options.ToMainThread on their side).
func Open(opt Options) (*Port, error) {
	p := &Port{opt: opt, set: sigset(symbols...)}
	if !startedBlocked.Load() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			runtime.UnlockOSThread()
			return nil, errors.New("sigchan: Open must run on the main thread, or after BlockInAllThreads")
		}
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, &p.set, nil); err != nil {
			return nil, fmt.Errorf("sigchan: blocking signals: %w", err)
		}
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

func signalOf(s minitalk.Symbol) syscall.Signal {
	if s == minitalk.One {
		return unix.SIGUSR1
	}
	return unix.SIGUSR2
}

// Send sends s to process pid: SIGUSR1 for 1, SIGUSR2 for 0.
func (p *Port) Send(pid int, s minitalk.Symbol) error {
	if pid <= 0 {
		return fmt.Errorf("sigchan: send to %d: %w", pid, minitalk.ErrNoProcess)
	}
	var err error
	if p.opt.ToMainThread {
		err = unix.Tgkill(pid, pid, signalOf(s))
	} else {
		err = unix.Kill(pid, signalOf(s))
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ESRCH):
		return fmt.Errorf("sigchan: send to %d: %w", pid, minitalk.ErrNoProcess)
	}
	return fmt.Errorf("sigchan: send to %d: %w", pid, err)
}

// siPidOffset is where si_pid lies in siginfo_t: after si_signo, si_errno,
// si_code and, on 64-bit systems, the union's alignment padding.
const siPidOffset = 8 + 4*unsafe.Sizeof(uintptr(0))/4

// Receive waits up to timeout for SIGUSR1 or SIGUSR2 and returns the symbol
// and its sender.
func (p *Port) Receive(timeout time.Duration) (minitalk.Signal, bool, error) {
	var deadline time.Time
	for {
		if sig := p.interrupted.Load(); sig != nil {
			return minitalk.Signal{}, false, fmt.Errorf("%w by %v", ErrInterrupted, sig)
		}
		p.ts = unix.NsecToTimespec(int64(max(timeout, 0)))
		r, _, errno := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT,
			uintptr(unsafe.Pointer(&p.set)), uintptr(unsafe.Pointer(&p.info[0])),
			uintptr(unsafe.Pointer(&p.ts)), kernelSigsetSize, 0, 0)
		switch errno {
		case 0:
		case unix.EAGAIN:
			return minitalk.Signal{}, false, nil
		case unix.EINTR:
			// Another signal ran a handler on this thread: wait for the
			// rest of the time.
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(timeout)
			}
			if timeout = deadline.Sub(now); timeout <= 0 {
				return minitalk.Signal{}, false, nil
			}
			continue
		default:
			return minitalk.Signal{}, false, fmt.Errorf("sigchan: rt_sigtimedwait: %w", errno)
		}
		pid := int(*(*int32)(unsafe.Pointer(&p.info[siPidOffset])))
		if syscall.Signal(r) == unix.SIGUSR1 {
			return minitalk.Signal{From: pid, Sym: minitalk.One}, true, nil
		}
		return minitalk.Signal{From: pid, Sym: minitalk.Zero}, true, nil
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
