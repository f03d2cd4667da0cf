package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// runResultsFile is target/run_results.json, shaped like dbt's.
type runResultsFile struct {
	Metadata    runResultsMeta `json:"metadata"`
	Results     []resultEntry  `json:"results"`
	ElapsedTime float64        `json:"elapsed_time"`
}

type runResultsMeta struct {
	SchemaVersion string `json:"elt_schema_version"`
	EltVersion    string `json:"elt_version,omitempty"`
	GeneratedAt   string `json:"generated_at"`
	InvocationID  string `json:"invocation_id"`
	Command       string `json:"command,omitempty"`
	ProjectName   string `json:"project_name,omitempty"`
	Target        string `json:"target,omitempty"`
}

type resultEntry struct {
	UniqueID      string   `json:"unique_id"`
	Status        string   `json:"status"`
	Timing        []timing `json:"timing"`
	ExecutionTime float64  `json:"execution_time"`
	RowsAffected  *int64   `json:"rows_affected"`
	Message       string   `json:"message"`
	Relation      string   `json:"relation_name,omitempty"`
	CompiledPath  string   `json:"compiled_path,omitempty"`
	// Failures is a test's count of failing rows.
	Failures *int64 `json:"failures,omitempty"`
	// The reconciliation of a built node (rows read, written, quarantined,
	// rejected), present when known.
	RowsRead        *int64 `json:"rows_read,omitempty"`
	RowsWritten     *int64 `json:"rows_written,omitempty"`
	RowsQuarantined *int64 `json:"rows_quarantined,omitempty"`
	RowsRejected    *int64 `json:"rows_rejected,omitempty"`
}

type timing struct {
	Name        string `json:"name"`
	StartedAt   string `json:"started_at"`
	CompletedAt string `json:"completed_at"`
}

// RunResultsSchemaVersion names the shape of run_results.json.
const RunResultsSchemaVersion = "elt/run-results/v1"

// WriteRunResults writes r as run_results.json at path (creating its
// directory): metadata, one entry per node sorted by unique_id with status,
// timing, rows_affected (null when the node has no row count), message,
// relation and compiled path, and the run's elapsed_time in seconds.
// Times are RFC 3339 in UTC.
func WriteRunResults(path string, r *RunResult, m *manifest.Manifest) error {
	f := runResultsFile{
		Metadata: runResultsMeta{
			SchemaVersion: RunResultsSchemaVersion,
			GeneratedAt:   stamp(r.Completed),
			InvocationID:  r.InvocationID,
			Command:       r.Command,
		},
		Results:     make([]resultEntry, 0, len(r.Nodes)),
		ElapsedTime: r.Completed.Sub(r.Started).Seconds(),
	}
	if m != nil {
		f.Metadata.EltVersion = m.Metadata.EltVersion
		f.Metadata.ProjectName = m.Metadata.ProjectName
		f.Metadata.Target = m.Metadata.Target
	}
	for _, n := range r.Nodes {
		e := resultEntry{
			UniqueID: string(n.NodeID), Status: n.Status, Message: n.Message,
			Relation: n.Relation, CompiledPath: n.CompiledPath,
			ExecutionTime: n.Duration.Seconds(),
			Timing:        []timing{{Name: "execute", StartedAt: stamp(n.Started), CompletedAt: stamp(n.Completed)}},
		}
		if n.Rows >= 0 {
			rows := n.Rows
			e.RowsAffected = &rows
		}
		switch {
		case n.NodeID.Type() == manifest.Test:
			e.Failures = known(n.Failures)
		case n.Status == StatusSuccess:
			e.RowsRead, e.RowsWritten = known(n.RowsRead), known(n.RowsWritten)
			e.RowsQuarantined, e.RowsRejected = known(n.RowsQuarantined), known(n.RowsRejected)
		}
		f.Results = append(f.Results, e)
	}
	sort.Slice(f.Results, func(i, j int) bool { return f.Results[i].UniqueID < f.Results[j].UniqueID })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// known returns a pointer to v, or nil when v is negative (unknown).
func known(v int64) *int64 {
	if v < 0 {
		return nil
	}
	return &v
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
