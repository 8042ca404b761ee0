//go:build unix

package runtime

import (
	"os"
	"syscall"
)

// terminateSignal asks a process to shut down gracefully.
func terminateSignal() os.Signal { return syscall.SIGTERM }

// signalGroup sends sig to the process group led by p.
func signalGroup(p *os.Process, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return p.Signal(sig)
	}
	if err := syscall.Kill(-p.Pid, s); err != nil {
		return p.Signal(sig)
	}
	return nil
}

// killProcess sends SIGKILL to the process group led by p.
func killProcess(p *os.Process) error { return signalGroup(p, syscall.SIGKILL) }

// killGroup kills whatever is left of the process group pgid after its leader exited and
// reports whether anything was left.
func killGroup(pgid int) (leftover bool) {
	if syscall.Kill(-pgid, 0) != nil {
		return false // no process of the group remains
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return true
}
