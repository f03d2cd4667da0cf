package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/project"
)

// cleanArtifacts are the paths under target/ that elt writes besides
// databases; `elt clean` removes exactly these.
var cleanArtifacts = []string{"compiled", "manifest.json", "run_results.json", "docs", "index.html", "catalog.json"}

func (a *app) cleanCommand() *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "clean",
		Short: "Remove the artifacts elt wrote under target/ (not databases, unless --all)",
		Long: "clean removes target/compiled/, target/manifest.json, target/run_results.json and the\n" +
			"generated docs. Database files under target/ are kept unless --all is given, which\n" +
			"removes the whole target/ directory.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.clean(all)
		},
	}
	c.Flags().BoolVar(&all, "all", false, "remove the whole target/ directory, databases included")
	return c
}

// clean removes elt's artifacts from the project's target/ directory and
// says what it removed. It reads only project.yaml's presence, so it works
// on a project that does not load.
func (a *app) clean(all bool) error {
	dir := a.opts.ProjectDir
	if _, err := os.Stat(filepath.Join(dir, project.FileName)); err != nil {
		return usagef("%s: no %s here — run elt in a project directory or pass --project-dir", dir, project.FileName)
	}
	pr := a.printer()
	targetDir := filepath.Join(dir, "target")
	paths := make([]string, 0, len(cleanArtifacts))
	if all {
		paths = append(paths, "")
	} else {
		paths = append(paths, cleanArtifacts...)
	}
	removed := 0
	for _, rel := range paths {
		p := filepath.Join(targetDir, rel)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("cannot remove %s: %w", p, err)
		}
		removed++
		pr.Infof("Removed %s", filepath.ToSlash(filepath.Join("target", rel)))
	}
	if removed == 0 {
		pr.Infof("Nothing to clean in target/")
	}
	return nil
}
