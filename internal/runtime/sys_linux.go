//go:build linux

package runtime

import "syscall"

// sysProcAttr puts the child in its own process group and has the kernel kill it when
// the CLI dies, so an app never outlives `purista dev`.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
