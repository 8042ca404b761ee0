//go:build !unix

package runtime

import (
	"os"
	"syscall"
)

// terminateSignal is the closest to SIGTERM on this platform.
func terminateSignal() os.Signal { return os.Interrupt }

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(p *os.Process, sig os.Signal) error { return p.Signal(sig) }

func killProcess(p *os.Process) error { return p.Kill() }

func killGroup(int) bool { return false }
