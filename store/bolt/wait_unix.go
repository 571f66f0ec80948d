//go:build unix

package bolt

import (
	"os"
	"syscall"
)

// The practice file's "someone is waiting" flag: a process that finds the
// file locked holds a shared lock on FileName+".wait" while it retries, so a
// bulk run holding the file sees it and gives the file up after its current
// chunk, instead of pausing blindly whether anyone waits or not.

func openWait(path string) (*os.File, error) {
	return os.OpenFile(path+".wait", os.O_RDWR|os.O_CREATE, 0o600)
}

// announceWait marks this process as waiting; done() withdraws it.
func announceWait(path string) (done func()) {
	f, err := openWait(path)
	if err != nil {
		return func() {}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// someoneWaiting reports whether another process has announced a wait.
func someoneWaiting(path string) bool {
	f, err := openWait(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
