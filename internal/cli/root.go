package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// NewRootCommand returns the `audicia` command with its subcommands. Installed
// as `kubectl-audicia`, it also runs as `kubectl audicia`.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "audicia",
		Short: "Least-privilege RBAC from Kubernetes audit logs",
		Long: `Audicia learns from Kubernetes audit logs what each ServiceAccount, user and
group really does, and suggests the least-privilege RBAC that allows exactly
that. It never applies RBAC itself: review the YAML, then apply it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	if name := programName(); name != root.Use {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyzeCommand(stdout, stderr))
	root.AddCommand(newGetCommand(stdout, stderr), newExportCommand(stdout, stderr), newExplainCommand(stdout))
	return root
}
