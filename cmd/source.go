package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/runner"
)

// sourceCommand is `elt source`, whose one subcommand is freshness.
func (a *app) sourceCommand() *cobra.Command {
	src := &cobra.Command{Use: "source", Short: "Commands about sources"}
	src.AddCommand(&cobra.Command{
		Use:   "freshness [-s SELECTOR...]",
		Short: "Check each selected source's loaded_at_field against its warn_after and error_after",
		RunE: func(c *cobra.Command, args []string) error {
			if err := extraSelectors(args, a.opts.Select); err != nil {
				return err
			}
			return a.freshness(args)
		},
	})
	return src
}

// freshnessEntry is one result of target/sources.json.
type freshnessEntry struct {
	UniqueID      string  `json:"unique_id"`
	Status        string  `json:"status"`
	MaxLoadedAt   string  `json:"max_loaded_at,omitempty"`
	AgeSeconds    float64 `json:"max_loaded_at_time_ago_in_s"`
	Message       string  `json:"message,omitempty"`
	ExecutionTime float64 `json:"execution_time"`
}

// freshness checks every selected source that declares loaded_at_field
// and freshness, prints a line per source and writes target/sources.json.
// An error status exits 1; warnings do not.
func (a *app) freshness(extra []string) error {
	s, err := a.load(dbOpen)
	if err != nil {
		return err
	}
	defer s.close()
	selected, err := s.selectNodes(extra, manifest.Source)
	if err != nil {
		return err
	}
	var nodes []*manifest.Node
	for _, id := range selected {
		if n := s.man.Node(id); runner.HasFreshness(n) {
			nodes = append(nodes, n)
		}
	}
	pr := a.printer()
	if len(nodes) == 0 {
		pr.Infof("Nothing to do: no selected source declares loaded_at_field and freshness.")
		return nil
	}
	now := time.Now().UTC()
	var entries []freshnessEntry
	var t tally
	for i, n := range nodes {
		name := n.Source.SourceName + "." + n.Source.TableName
		pr.line(pr.out, fancyLine(i+1, len(nodes), "START freshness of "+name, "RUN"))
		res := runner.CheckFreshness(a.ctx, s.db, n, now)
		word := map[string]string{"pass": "PASS", "warn": "WARN", "error": "ERROR STALE"}[res.Status]
		pr.line(pr.out, fancyLine(i+1, len(nodes), word+" freshness of "+name, word+" in "+seconds(res.Duration)))
		if res.Message != "" {
			pr.result("  " + res.Message)
		}
		t.total++
		switch res.Status {
		case "pass":
			t.pass++
		case "warn":
			t.warn++
		default:
			t.errors++
		}
		e := freshnessEntry{UniqueID: string(n.ID), Status: res.Status, Message: res.Message,
			AgeSeconds: res.Age.Seconds(), ExecutionTime: res.Duration.Seconds()}
		if !res.MaxLoadedAt.IsZero() {
			e.MaxLoadedAt = res.MaxLoadedAt.Format(time.RFC3339)
		}
		entries = append(entries, e)
	}
	data, err := json.MarshalIndent(map[string]any{"metadata": map[string]any{
		"invocation_id": s.invocationID, "generated_at": now.Format(time.RFC3339)}, "results": entries}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.targetDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.targetDir, "sources.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	pr.result("")
	pr.result(fmt.Sprintf("Done. PASS=%d WARN=%d ERROR=%d TOTAL=%d", t.pass, t.warn, t.errors, t.total))
	if t.errors > 0 {
		return failedError{}
	}
	return nil
}
