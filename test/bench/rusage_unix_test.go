//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSSBytes returns the peak resident set size of a finished process.
func maxRSSBytes(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes
	}
	return int64(ru.Maxrss) * 1024 // KiB on Linux and the BSDs
}
