package cmd

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// versionLine is what `elt version` prints: elt's version, the Go version
// and platform. It loads nothing and never opens DuckDB, so it is fast.
func versionLine() string {
	return fmt.Sprintf("elt %s (%s %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print elt's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			fmt.Fprintln(a.stdout, versionLine())
			return nil
		},
	}
}
