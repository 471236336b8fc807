//go:build linux

package cli

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAnonymousWritable(t *testing.T) {
	maps := []byte(`00400000-011eb000 r-xp 00000000 fe:00 10002461                           /usr/bin/audicia
01e9f000-01f24000 rw-p 01a9f000 fe:00 10002461                           /usr/bin/audicia
01f24000-03f6e000 rw-p 00000000 00:00 0 
06021000-06042000 rw-p 00000000 00:00 0                                  [heap]
be228c00000-be22c800000 rw-p 00000000 00:00 0 
c000000000-c000400000 rw-p 00000000 00:00 0                              [anon: Go: heap]
7f0b8ab2b000-7f0b8ad9d000 ---p 00000000 00:00 0 
7f0b8ad9d000-7f0b8ae00000 r--p 00000000 00:00 0 
7f0b8ae00000-7f0b8b000000 rw-s 00000000 00:01 4242                       /dev/zero (deleted)
zz-7f0b8c000000 rw-p 00000000 00:00 0 
7f0b8c000000-7f0b8b000000 rw-p 00000000 00:00 0 
7ffdbd945000-7ffdbd966000 rw-p 00000000 00:00 0                          [stack]`)
	assert.Equal(t, []mapping{
		{0x01f24000, 0x03f6e000},
		{0xbe228c00000, 0xbe22c800000},
		{0xc000000000, 0xc000400000},
	}, anonymousWritable(maps))
}

// TestAdviseHugePagesCoversTheHeap checks that memory the analysis allocates
// after the advice lies in a mapping the kernel marked for huge pages
// ("hg" in its VmFlags), including memory the heap had not mapped before;
// on a kernel built without transparent huge pages, that nothing is marked.
func TestAdviseHugePagesCoversTheHeap(t *testing.T) {
	_, err := os.Stat("/sys/kernel/mm/transparent_hugepage")
	kernelHasTHP := err == nil
	adviseHugePages()
	small := make([]byte, 1<<10)
	large := make([]byte, heapToMap/2)
	for _, b := range [][]byte{small, large} {
		addr := uintptr(unsafe.Pointer(&b[0]))
		assert.Equal(t, kernelHasTHP, slices.Contains(vmFlagsAt(t, addr), "hg"), "the mapping holding %#x is marked for huge pages", addr)
	}
}

// vmFlagsAt returns the VmFlags of the mapping of this process holding addr.
func vmFlagsAt(t *testing.T, addr uintptr) []string {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	holds := false
	for line := range bytes.Lines(smaps) {
		if flags, ok := bytes.CutPrefix(line, []byte("VmFlags:")); ok {
			if holds {
				return strings.Fields(string(flags))
			}
			continue
		}
		// A mapping's first line: start-end perms offset dev inode [path].
		if fields := bytes.Fields(line); len(fields) >= 5 {
			if m, ok := parseMapping(fields[0]); ok {
				holds = m.start <= addr && addr < m.end
			}
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return nil
}
