package cmd

import (
	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/manifest"
)

// snapshotVerb builds snapshot models only; run and build include them in
// graph order with the other models.
var snapshotVerb = verb{"snapshot", "Build the selected snapshot models (SCD type 2 history)", []manifest.ResourceType{manifest.Model}}

// snapshotSelector picks the snapshot models.
const snapshotSelector = "config.materialized:snapshot"

// snapshotCommand is `elt snapshot [-s SEL]`: the selection intersected
// with the snapshot models (all of them without -s).
func (a *app) snapshotCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot [-s SELECTOR...]",
		Short: snapshotVerb.short,
		RunE: func(c *cobra.Command, args []string) error {
			if err := extraSelectors(args, a.opts.Select); err != nil {
				return err
			}
			a.opts.Select = onlySnapshots(selectors(a.opts.Select, args...))
			return a.execute(snapshotVerb, nil)
		},
	}
}

// onlySnapshots intersects each union term with snapshotSelector; no term
// means every snapshot.
func onlySnapshots(terms []string) []string {
	if len(terms) == 0 {
		return []string{snapshotSelector}
	}
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = t + "," + snapshotSelector
	}
	return out
}
