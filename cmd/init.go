package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/project"
)

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a new project with the example pipeline in DIR (default: the current directory)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.initProject(dir)
		},
	}
}

// exampleEntries are the top-level entries of ExampleProject that elt init
// copies; anything else in the FS (a whole repository in tests) is ignored.
var exampleEntries = map[string]bool{"project.yaml": true, "models": true, "macros": true, "tests": true, "seeds": true}

// initProject copies ExampleProject into dir, creating dir when missing. It
// refuses a directory that already holds a project.yaml and never
// overwrites a file.
func (a *app) initProject(dir string) error {
	if ExampleProject == nil {
		return errors.New("this elt binary carries no example project — build elt from its repository root")
	}
	if _, err := os.Stat(filepath.Join(dir, project.FileName)); err == nil {
		return usagef("%s already exists — choose a new or empty directory for elt init",
			filepath.ToSlash(filepath.Join(dir, project.FileName)))
	}
	var files int
	err := fs.WalkDir(ExampleProject, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != "." && !exampleEntries[strings.SplitN(path, "/", 2)[0]] {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(ExampleProject, path)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return usagef("%s already exists — choose a new or empty directory for elt init", filepath.ToSlash(dst))
			}
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		files++
		return f.Close()
	})
	if err != nil {
		return err
	}
	pr := a.printer()
	pr.Infof("Created a new elt project in %s (%d files).", dir, files)
	pr.Infof("Next: cd %s && elt build", dir)
	return nil
}

// initHint is printed after a failed load in a directory without a project.
func initHint(dir string) string {
	return fmt.Sprintf("%s: no %s here — run elt in a project directory, pass --project-dir, or create one with elt init", dir, project.FileName)
}
