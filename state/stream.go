package state

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// streamTables hold what stream models have read and where their windows
// stand. Both are written in the transaction of the micro-batch that
// writes the model's output, so a crash never separates them from it.
//
// stream_positions has one row per stream model and position key: a
// landed file (key = its path relative to the project, offset = its size)
// or a Kafka partition (key = "kafka:<topic>/<partition>", offset = the
// next offset to read). stream_watermarks has one row per stream model:
// the newest event time it has seen, late_before (events older than it
// are late: their windows are final), and running totals.
var streamTables = []string{
	`CREATE TABLE IF NOT EXISTS elt_state.stream_positions (
    node_id      VARCHAR NOT NULL,
    pos_key      VARCHAR NOT NULL,
    pos_offset   BIGINT NOT NULL,
    run_id       VARCHAR NOT NULL,
    committed_at TIMESTAMP NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS elt_state.stream_watermarks (
    node_id        VARCHAR NOT NULL,
    max_event_time TIMESTAMP,
    late_before    TIMESTAMP,
    events         BIGINT NOT NULL,
    late_events    BIGINT NOT NULL,
    batches        BIGINT NOT NULL,
    fingerprint    VARCHAR NOT NULL,
    updated_at     TIMESTAMP NOT NULL
)`,
}

// StreamPosition is one committed position of a stream model.
type StreamPosition struct {
	Key    string
	Offset int64
}

// StreamPositions returns the committed positions of nodeID, by key.
func StreamPositions(ctx context.Context, db DB, nodeID string) ([]StreamPosition, error) {
	rows, err := db.QueryContext(ctx, `SELECT pos_key, pos_offset FROM elt_state.stream_positions WHERE node_id = ? ORDER BY pos_key`, nodeID)
	if err != nil {
		return nil, fmt.Errorf("read stream positions of %s: %w", nodeID, err)
	}
	defer rows.Close()
	var out []StreamPosition
	for rows.Next() {
		var p StreamPosition
		if err := rows.Scan(&p.Key, &p.Offset); err != nil {
			return nil, fmt.Errorf("read stream positions of %s: %w", nodeID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RecordStreamPositionsSQL returns the statements that record ps as
// nodeID's positions. Run them in the batch's transaction. It returns ""
// for no positions.
//
// With replace, the rows of the same keys are replaced: a Kafka
// partition's position moves with every batch. Without, the keys must be
// new, as a landed file's are (a file is read once, and a full refresh
// forgets every position in its first batch's transaction): no DELETE then
// scans the positions of every file the stream ever read (20 ms a batch
// at a million files).
func RecordStreamPositionsSQL(nodeID, runID string, ps []StreamPosition, at time.Time, replace bool) string {
	if len(ps) == 0 {
		return ""
	}
	keys, values := make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		keys[i] = quote(p.Key)
		values[i] = "(" + quote(nodeID) + ", " + quote(p.Key) + ", " + strconv.FormatInt(p.Offset, 10) + ", " +
			quote(runID) + ", " + timestamp(at) + ")"
	}
	keyColumn := ""
	if replace {
		keyColumn = "pos_key"
	}
	return replaceRowsSQL("elt_state.stream_positions", nodeID, keyColumn, keys, values)
}

// ClearStreamSQL returns the statements forgetting every position and the
// watermark of nodeID (a full refresh reads its stream from the start).
func ClearStreamSQL(nodeID string) string {
	return "DELETE FROM elt_state.stream_positions WHERE node_id = " + quote(nodeID) +
		";\nDELETE FROM elt_state.stream_watermarks WHERE node_id = " + quote(nodeID)
}

// StreamWatermark is a stream model's row of stream_watermarks.
type StreamWatermark struct {
	NodeID       string
	MaxEventTime time.Time // zero before the first event
	LateBefore   time.Time // zero while nothing is final
	Events       int64
	LateEvents   int64
	Batches      int64
	Fingerprint  string
	Updated      time.Time
}

// StreamWatermarkOf returns nodeID's watermark row, or nil when it has
// none yet.
func StreamWatermarkOf(ctx context.Context, db DB, nodeID string) (*StreamWatermark, error) {
	rows, err := db.QueryContext(ctx, `SELECT max_event_time, late_before, events, late_events, batches, fingerprint, updated_at
FROM elt_state.stream_watermarks WHERE node_id = ?`, nodeID)
	if err != nil {
		return nil, fmt.Errorf("read the watermark of %s: %w", nodeID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	w := &StreamWatermark{NodeID: nodeID}
	var maxT, late nullableTime
	if err := rows.Scan(&maxT, &late, &w.Events, &w.LateEvents, &w.Batches, &w.Fingerprint, &w.Updated); err != nil {
		return nil, fmt.Errorf("read the watermark of %s: %w", nodeID, err)
	}
	w.MaxEventTime, w.LateBefore = maxT.t, late.t
	return w, nil
}

// nullableTime scans a TIMESTAMP that may be NULL.
type nullableTime struct{ t time.Time }

func (n *nullableTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.t = time.Time{}
	case time.Time:
		n.t = x
	default:
		return fmt.Errorf("unexpected %T for a timestamp", v)
	}
	return nil
}

// RecordStreamWatermarkSQL returns the statements making w nodeID's one
// watermark row. Run them in the batch's transaction.
func RecordStreamWatermarkSQL(w StreamWatermark) string {
	t := func(x time.Time) string {
		if x.IsZero() {
			return "NULL"
		}
		return timestamp(x)
	}
	return "DELETE FROM elt_state.stream_watermarks WHERE node_id = " + quote(w.NodeID) +
		";\nINSERT INTO elt_state.stream_watermarks VALUES (" + quote(w.NodeID) + ", " + t(w.MaxEventTime) + ", " + t(w.LateBefore) + ", " +
		strconv.FormatInt(w.Events, 10) + ", " + strconv.FormatInt(w.LateEvents, 10) + ", " + strconv.FormatInt(w.Batches, 10) + ", " +
		quote(w.Fingerprint) + ", " + timestamp(w.Updated) + ")"
}
