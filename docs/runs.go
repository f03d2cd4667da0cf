package docs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// ReadRunResults reads the last result of each node from a
// run_results.json. A missing file is no error: the map is empty.
func ReadRunResults(path string) (map[manifest.NodeID]RunInfo, error) {
	out := map[manifest.NodeID]RunInfo{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	var f struct {
		Results []struct {
			UniqueID      string  `json:"unique_id"`
			Status        string  `json:"status"`
			ExecutionTime float64 `json:"execution_time"`
			RowsAffected  *int64  `json:"rows_affected"`
			Message       string  `json:"message"`
			Timing        []struct {
				CompletedAt string `json:"completed_at"`
			} `json:"timing"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: not a valid run_results.json: %v — run elt build again", path, err)
	}
	for _, r := range f.Results {
		ri := RunInfo{Status: r.Status, Rows: r.RowsAffected, Seconds: r.ExecutionTime, Message: r.Message}
		if len(r.Timing) > 0 {
			ri.CompletedAt = r.Timing[len(r.Timing)-1].CompletedAt
		}
		out[manifest.NodeID(r.UniqueID)] = ri
	}
	return out, nil
}

// StateRuns reads the last recorded result of each node from the
// database's elt_state (node_results and the journal); a database without
// state gives an empty map.
func StateRuns(ctx context.Context, db *warehouse.DB) (map[manifest.NodeID]RunInfo, error) {
	out := map[manifest.NodeID]RunInfo{}
	// all_node_results also holds the results a killed run left in the
	// journal; a database written before version 3 of elt_state has only
	// node_results ("all_node_results" sorts first).
	res, err := db.Query(ctx, `SELECT coalesce(min(table_name), '') FROM (
    SELECT table_name FROM duckdb_tables() WHERE schema_name = 'elt_state' AND table_name = 'node_results' AND database_name = current_database()
    UNION ALL
    SELECT view_name FROM duckdb_views() WHERE schema_name = 'elt_state' AND view_name = 'all_node_results' AND database_name = current_database())`)
	if err != nil {
		return nil, err
	}
	from, _ := res.Rows[0][0].(string)
	if from == "" {
		return out, nil
	}
	res, err = db.Query(ctx, `SELECT node_id, status, rows_affected, started_at, completed_at, coalesce(message, '')
FROM elt_state.`+from+`
QUALIFY row_number() OVER (PARTITION BY node_id ORDER BY completed_at DESC) = 1`)
	if err != nil {
		return nil, err
	}
	for _, r := range res.Rows {
		ri := RunInfo{Status: fmt.Sprint(r[1]), Message: fmt.Sprint(r[5])}
		if n, ok := r[2].(int64); ok {
			ri.Rows = &n
		}
		start, _ := r[3].(time.Time)
		end, _ := r[4].(time.Time)
		if !end.IsZero() {
			ri.CompletedAt = end.UTC().Format(time.RFC3339)
			ri.Seconds = end.Sub(start).Seconds()
		}
		out[manifest.NodeID(fmt.Sprint(r[0]))] = ri
	}
	return out, nil
}
