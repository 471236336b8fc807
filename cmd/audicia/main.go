// Command audicia is Audicia's command line: offline analysis of audit logs.
package main

import (
	"fmt"
	"os"

	"github.com/audicia/audicia/internal/cli"
)

func main() {
	if err := cli.NewRootCommand(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "audicia:", err)
		os.Exit(1)
	}
}
