package file

import (
	"fmt"
	"os"
	"syscall"
)

// identity names the file behind fi as "<dev>:<inode>": it survives renames
// and tells a rotated file from its successor at the same path.
func identity(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
