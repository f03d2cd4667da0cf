package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/runner"
)

// reporter renders a run's events dbt-style: one line per node as it
// starts and as it ends, then the failures in detail and the summary. Its
// onEvent is called from worker goroutines; every line goes through the
// printer, which serialises writes.
type reporter struct {
	pr      *printer
	s       *session
	started time.Time
}

func newReporter(pr *printer, s *session) *reporter {
	return &reporter{pr: pr, s: s, started: time.Now()}
}

// foundLine counts the project's nodes: "Found 8 models, 2 seeds, 2 sources".
func (s *session) foundLine() string {
	counts := map[manifest.ResourceType]int{}
	for _, n := range s.man.Nodes {
		counts[n.ResourceType]++
	}
	var parts []string
	for _, k := range []struct {
		t    manifest.ResourceType
		name string
	}{{manifest.Model, "model"}, {manifest.Seed, "seed"}, {manifest.Test, "test"}, {manifest.Source, "source"}} {
		if c := counts[k.t]; c > 0 || k.t == manifest.Model {
			parts = append(parts, plural(c, k.name))
		}
	}
	return "Found " + strings.Join(parts, ", ")
}

// plural renders "1 model", "2 models".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// header prints who runs what against which database.
func (r *reporter) header() {
	s := r.s
	if r.pr.json {
		counts := event{}
		for _, n := range s.man.Nodes {
			k := string(n.ResourceType) + "s"
			c, _ := counts[k].(int)
			counts[k] = c + 1
		}
		r.pr.emit(r.pr.out, "run_start", event{
			"elt_version": Version, "project": s.proj.Name, "target": s.targetName,
			"database": s.dbPath(), "threads": s.threads, "invocation_id": s.invocationID, "nodes": counts,
		})
		return
	}
	r.pr.Infof("Running with elt %s, project %s, target %s (%s)", Version, s.proj.Name, s.targetName, s.dbPath())
	r.pr.Infof("%s", s.foundLine())
	r.pr.Infof("Concurrency: %d threads (target='%s')", s.threads, s.targetName)
	r.pr.Infof("")
}

// nothingSelected says that the selection is empty.
func (r *reporter) nothingSelected() {
	if r.pr.json {
		r.pr.emit(r.pr.out, "nothing_selected", nil)
		return
	}
	r.pr.Infof("Nothing to do: no node matches the selection.")
}

// describe renders what a node is: "sql view model main.stg_events",
// "seed file main.countries".
func describe(n *manifest.Node) string {
	switch n.ResourceType {
	case manifest.Seed:
		return "seed file " + display(n)
	case manifest.Test:
		return "test " + n.Name
	case manifest.Model:
		mat := n.Config.Materialized
		if mat == "" {
			mat = "view"
		}
		if mat == "snapshot" {
			return "snapshot " + display(n)
		}
		return "sql " + mat + " model " + display(n)
	}
	return string(n.ResourceType) + " " + display(n)
}

// display renders a node's relation unquoted: "main.stg_events".
func display(n *manifest.Node) string {
	alias := n.Alias
	if alias == "" {
		alias = n.Name
	}
	if n.Schema == "" {
		return alias
	}
	return n.Schema + "." + alias
}

// hasRows reports whether a node's row count is worth printing: tables and
// seeds, not views or ephemerals.
func hasRows(n *manifest.Node) bool {
	switch n.ResourceType {
	case manifest.Seed:
		return true
	case manifest.Model:
		switch n.Config.Materialized {
		case "view", "ephemeral", "":
			return false
		}
		return true
	}
	return false
}

// onEvent renders one runner event.
func (r *reporter) onEvent(e runner.Event) {
	r.track(e)
	n := e.Node
	if n == nil && e.Result != nil {
		n = r.s.man.Node(e.Result.NodeID)
	}
	if n == nil {
		return
	}
	if r.pr.json {
		r.jsonEvent(e, n)
		return
	}
	if e.Kind == runner.NodeStart {
		if r.pr.quiet {
			return
		}
		r.pr.line(r.pr.out, fancyLine(e.Index, e.Total, "START "+describe(n), "RUN"))
		return
	}
	res := e.Result
	if res == nil {
		return
	}
	msg, status, color := endLine(n, res)
	if r.pr.quiet && color != colorRed {
		return
	}
	line := fancyLine(e.Index, e.Total, msg, status)
	if color != "" && r.pr.color {
		line = strings.Replace(line, "["+status+"]", "["+r.pr.paint(color, status)+"]", 1)
	}
	r.pr.line(r.pr.out, line)
	if res.Status == "success" && res.Message != "" && !r.pr.quiet {
		r.pr.line(r.pr.out, "  "+res.Message) // e.g. rejected source rows
	}
}

// endLine returns the message, bracketed status and colour of a node's
// end line.
func endLine(n *manifest.Node, res *runner.NodeResult) (msg, status, color string) {
	t := " in " + seconds(res.Duration)
	switch res.Status {
	case "success":
		verb := "created"
		if n.ResourceType == manifest.Seed {
			verb = "loaded"
		}
		status = "OK" + t
		if hasRows(n) {
			status = "OK " + diag.Count(res.Rows) + " rows" + t
		}
		return "OK " + verb + " " + describe(n), status, colorGreen
	case "pass":
		return "PASS " + describe(n), "PASS" + t, colorGreen
	case "warn":
		return "WARN " + describe(n), "WARN" + t, colorYellow
	case "fail":
		return "FAIL " + describe(n), "FAIL" + t, colorRed
	case "skipped":
		if n.ResourceType == manifest.Test {
			return "SKIP " + describe(n), "SKIP", colorYellow
		}
		return "SKIP relation " + display(n), "SKIP", colorYellow
	}
	verb := "creating"
	switch n.ResourceType {
	case manifest.Seed:
		verb = "loading"
	case manifest.Test:
		return "ERROR " + describe(n), "ERROR" + t, colorRed
	}
	return "ERROR " + verb + " " + describe(n), "ERROR" + t, colorRed
}

// jsonEvent writes one runner event as a JSON object.
func (r *reporter) jsonEvent(e runner.Event, n *manifest.Node) {
	ev := event{
		"index": e.Index, "total": e.Total, "node": string(n.ID), "resource_type": string(n.ResourceType),
		"name": n.Name, "relation": display(n),
	}
	if n.ResourceType == manifest.Model {
		ev["materialized"] = n.Config.Materialized
	}
	if e.Kind == runner.NodeStart {
		r.pr.emit(r.pr.out, "node_start", ev)
		return
	}
	if res := e.Result; res != nil {
		ev["status"] = res.Status
		ev["duration_s"] = res.Duration.Seconds()
		if hasRows(n) && res.Status == "success" {
			ev["rows"] = res.Rows
		}
		if res.Message != "" {
			ev["message"] = res.Message
		}
		if res.CompiledPath != "" {
			ev["compiled_path"] = res.CompiledPath
		}
	}
	r.pr.emit(r.pr.out, "node_end", ev)
}

// tally counts results by summary bucket.
type tally struct{ pass, warn, errors, skip, total int }

func count(res *runner.RunResult) tally {
	var t tally
	if res == nil {
		return t
	}
	for _, n := range res.Nodes {
		t.total++
		switch n.Status {
		case "success", "pass":
			t.pass++
		case "warn":
			t.warn++
		case "skipped":
			t.skip++
		default:
			t.errors++
		}
	}
	return t
}

// summary prints the failures in detail and the closing tally; it reports
// whether any node failed.
func (r *reporter) summary(res *runner.RunResult) bool {
	r.pr.stopLive()
	t := count(res)
	elapsed := time.Since(r.started)
	if r.pr.json {
		r.pr.emit(r.pr.out, "summary", event{
			"pass": t.pass, "warn": t.warn, "error": t.errors, "skip": t.skip, "total": t.total,
			"elapsed_s": elapsed.Seconds(),
		})
		return t.errors > 0
	}
	pr := r.pr
	pr.Infof("")
	pr.Infof("Finished running %s in %s.", plural(t.total, "node"), seconds(elapsed))
	if t.errors > 0 || t.warn > 0 {
		pr.result("")
		pr.result(fmt.Sprintf("Completed with %s and %s:", plural(t.errors, "error"), plural(t.warn, "warning")))
		for _, nr := range res.Nodes {
			if nr.Status == "success" || nr.Status == "pass" || nr.Status == "skipped" {
				continue
			}
			n := r.s.man.Node(nr.NodeID)
			kind, name, path := "node", string(nr.NodeID), ""
			if n != nil {
				kind, name, path = string(n.ResourceType), n.Name, n.Path
			}
			word := "Failure"
			if nr.Status == "warn" {
				word = "Warning"
			}
			pr.result("")
			pr.result(fmt.Sprintf("%s in %s %s (%s)", word, kind, name, path))
			for _, l := range strings.Split(strings.TrimRight(nr.Message, "\n"), "\n") {
				pr.result(strings.TrimRight("  "+l, " "))
			}
			if nr.CompiledPath != "" {
				pr.result("")
				pr.result("  compiled code at " + nr.CompiledPath)
			}
		}
	} else {
		pr.Infof("")
		pr.Infof("Completed successfully")
	}
	pr.result("")
	pr.result(fmt.Sprintf("Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d", t.pass, t.warn, t.errors, t.skip, t.total))
	return t.errors > 0
}
