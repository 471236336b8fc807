//go:build !unix

package bench

import "os"

// maxRSSBytes is unknown here.
func maxRSSBytes(*os.ProcessState) int64 { return 0 }
