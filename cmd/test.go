package cmd

import (
	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/manifest"
)

// testVerb runs the selected data and unit tests against the relations
// already in the database.
var testVerb = verb{"test", "Run the selected data tests and unit tests", []manifest.ResourceType{manifest.Test}}

func (a *app) testCommand() *cobra.Command { return a.verbCommand(testVerb) }
