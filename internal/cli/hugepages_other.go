//go:build !linux

package cli

// adviseHugePages does nothing where transparent huge pages are not a
// program's choice.
func adviseHugePages() {}
