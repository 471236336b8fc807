//go:build !unix

package audit

import "os"

func mapFile(*os.File) ([]byte, func(), bool) { return nil, nil, false }

func releaseMapped([]byte) {}
