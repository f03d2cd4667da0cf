package materialize

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// StreamBatch describes one micro-batch of a stream model (SPEC §9). A
// batch runs in one transaction, in three steps whose SQL this file
// builds:
//
//  1. StreamLoad reads the batch's events, sends late ones (older than
//     LateBefore), ones without an event time and ones failing a
//     quarantine rule to <model>__quarantine, and adds the others to the
//     model's retained events (with a watermark) or to the batch alone
//     (without one).
//  2. StreamUpsert recomputes the model over the retained events of every
//     window from Floor on — the window holding the batch's earliest new
//     event and all later ones — and replaces those windows in the target:
//     any aggregate is recomputed from its events, so count(distinct …)
//     and medians are as right as sums. Without a watermark the model
//     runs over the batch's events alone and its rows are upserted by
//     unique_key (or appended without one).
//  3. StreamTrim drops the retained events older than the new LateBefore:
//     their windows are final.
//
// Windows are assumed tumbling: each event falls in one window, whose
// start (WindowColumn) is at or before the event's time.
type StreamBatch struct {
	Schema, Name string
	// SQL is the model's compiled SQL; it reads manifest.StreamEventsToken.
	SQL string
	// EventTime is the source's event-time column.
	EventTime string
	// WindowColumn is the model's event_time: the output column holding
	// each window's start. Empty without a watermark.
	WindowColumn string
	UniqueKey    []string
	// Watermark is set when the model keeps window state.
	Watermark bool
	Rules     []manifest.QuarantineRule
	// Reader is the relation the batch's events are read from, e.g.
	// read_json([...], format='newline_delimited').
	Reader string
	// LateBefore: events before it are late. Zero while nothing is final.
	LateBefore time.Time
	RunID      string
	// EventTimeType is the DuckDB type of the EventTime column (e.g.
	// TIMESTAMP, DATE); TIMESTAMP when empty.
	EventTimeType string
	// Fresh, with a watermark, says the retained events table does not
	// exist before this batch (a model's first events, a full refresh):
	// the batch's new events are all the model's events, in the shape
	// step 1 creates the table in, so step 2 reads them where step 1 put
	// them and step 3 keeps those of open windows, instead of step 1
	// retaining every event for step 3 to delete most of them (a first
	// build from a landing folder of ten million events). A table that
	// exists, even empty, has its own column types, which events take on
	// being retained: it is not Fresh.
	Fresh bool
}

// Temporary tables of a batch, private to its connection.
const (
	streamBatchTable = "elt_stream_batch"
	streamNewTable   = "elt_stream_new"
	streamOutTable   = "elt_stream_out"
)

// StreamTarget returns the model's relation.
func (b StreamBatch) StreamTarget() string { return relation(b.Schema, b.Name) }

// StreamRetained returns the relation holding the events of the model's
// open windows: elt_state."stream:<schema>.<name>" (a name no two models
// share, whatever their schema and model names hold).
func (b StreamBatch) StreamRetained() string {
	return relation("elt_state", "stream:"+b.Schema+"."+b.Name)
}

// events is the relation holding the model's events in steps 2 and 3:
// the retained events, or the batch's new events when they are all of them
// (Fresh).
func (b StreamBatch) events() string {
	if b.Fresh {
		return streamNewTable
	}
	return b.StreamRetained()
}

// StreamRetainedExists returns the query counting the model's retained
// events tables in the current database (0 or 1): a batch is Fresh when
// there is none.
func (b StreamBatch) StreamRetainedExists() string {
	return "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'elt_state' AND table_name = " +
		quoteString("stream:"+b.Schema+"."+b.Name)
}

// StreamDrop returns the statements a full refresh starts with: the
// target, its quarantine and its retained events are dropped.
func (b StreamBatch) StreamDrop() []string {
	return []string{
		"DROP TABLE IF EXISTS " + b.StreamTarget(),
		"DROP TABLE IF EXISTS " + QuarantineRelation(b.Schema, b.Name),
		"DROP TABLE IF EXISTS " + b.StreamRetained(),
	}
}

func (b StreamBatch) eventTime() string { return "CAST(" + quoteIdent(b.EventTime) + " AS TIMESTAMP)" }

// StreamLoad returns step 1's statements, ending with a query returning
// one row: the batch's event count, its accepted (new) event count, its
// late event count, and the new events' earliest and newest event time.
func (b StreamBatch) StreamLoad() []string {
	et := b.eventTime()
	var conds, whens []string
	conds = append(conds, et+" IS NOT NULL")
	whens = append(whens, "WHEN "+et+" IS NULL THEN 'null_event_time'")
	if !b.LateBefore.IsZero() {
		conds = append(conds, et+" >= "+timestampLiteral(b.LateBefore))
		whens = append(whens, "WHEN "+et+" < "+timestampLiteral(b.LateBefore)+" THEN 'late'")
	}
	reason := "CASE " + strings.Join(whens, " ") + " END"
	if len(b.Rules) > 0 {
		ok, ruleReason := quarantinePredicates(b.Rules)
		conds = append(conds, ok)
		reason = "coalesce(" + reason + ", nullif(" + ruleReason + ", ''))"
	}
	accepted := "(" + strings.Join(conds, " AND ") + ")"
	q := QuarantineRelation(b.Schema, b.Name)
	stmts := []string{
		"CREATE SCHEMA IF NOT EXISTS " + quoteIdent(b.Schema),
		"CREATE OR REPLACE TEMP TABLE " + streamBatchTable + " AS SELECT * FROM " + b.Reader,
		"CREATE OR REPLACE TEMP TABLE " + streamNewTable + " AS SELECT * FROM " + streamBatchTable + " WHERE " + accepted,
	}
	stmts = append(stmts, quarantineStatements(q, streamBatchTable, accepted, reason, b.RunID, streamBatchTable)...)
	if b.Watermark {
		r := b.StreamRetained()
		stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+r+" AS SELECT * FROM "+streamNewTable+" LIMIT 0")
		if !b.Fresh {
			stmts = append(stmts, "INSERT INTO "+r+" BY NAME SELECT * FROM "+streamNewTable)
		}
	}
	late := "false"
	if !b.LateBefore.IsZero() {
		late = et + " < " + timestampLiteral(b.LateBefore)
	}
	stmts = append(stmts, "SELECT count(*), count(*) FILTER (WHERE "+accepted+"), count(*) FILTER (WHERE "+late+"), min("+et+
		") FILTER (WHERE "+accepted+"), max("+et+") FILTER (WHERE "+accepted+") FROM "+streamBatchTable)
	return stmts
}

// StreamWindowQuery returns the query finding the start of the window
// that holds time t, in one row of two columns. The first asks the model
// itself: it runs the model over retained events moved to t (a probe) and
// takes the window they land in — exact for any tumbling window, even one
// no event has reached yet, but NULL when the model's filters drop every
// probe event. The second, NULL when the target does not exist (exists false)
// or has no such window, is the target's latest window starting at or
// before t: a window at or before the true one, so using it only ever
// keeps more state than needed.
func (b StreamBatch) StreamWindowQuery(t time.Time, exists bool) string {
	w := "CAST(" + quoteIdent(b.WindowColumn) + " AS TIMESTAMP)"
	lit := timestampLiteral(t)
	typ := b.EventTimeType
	if typ == "" {
		typ = "TIMESTAMP"
	}
	// Up to 100 retained events, each 100 times, all moved to t: varied
	// enough to pass the model's WHERE, and many enough per group to pass
	// a HAVING such as count(*) >= 2, where one event would not.
	probe := "(SELECT elt_probe_events.* REPLACE (CAST(" + lit + " AS " + typ + ") AS " + quoteIdent(b.EventTime) + ") FROM (SELECT * FROM " +
		b.events() + " LIMIT 100) AS elt_probe_events, range(100) AS elt_probe_copies(elt_copy))"
	q := "SELECT (SELECT max(" + w + ") FROM (" + streamSQL(b.SQL, probe) + "\n) AS elt_probe WHERE " + w + " <= " + lit + ")"
	if exists {
		q += ", (SELECT max(" + w + ") FROM " + b.StreamTarget() + " WHERE " + w + " <= " + lit + ")"
	} else {
		q += ", CAST(NULL AS TIMESTAMP)"
	}
	return q
}

// StreamUpsert returns step 2's statements. exists says whether the
// target exists (else the batch creates it). floor is where the windows
// to recompute start (zero: from the first retained event); it is used
// with a watermark only. The last statement returns the number of rows
// the batch wrote.
func (b StreamBatch) StreamUpsert(exists bool, floor time.Time) []string {
	target := b.StreamTarget()
	var stmts []string
	if b.Watermark {
		w := "CAST(" + quoteIdent(b.WindowColumn) + " AS TIMESTAMP)"
		events := b.events()
		keep := ""
		if !floor.IsZero() {
			events = "(SELECT * FROM " + events + " WHERE " + b.eventTime() + " >= " + timestampLiteral(floor) + ")"
			keep = " WHERE " + w + " >= " + timestampLiteral(floor)
		}
		stmts = append(stmts, "CREATE OR REPLACE TEMP TABLE "+streamOutTable+" AS SELECT * FROM ("+
			streamSQL(b.SQL, events)+"\n) AS elt_windows"+keep)
		if exists {
			if !floor.IsZero() {
				stmts = append(stmts, "DELETE FROM "+target+" WHERE "+w+" >= "+timestampLiteral(floor))
			} else {
				stmts = append(stmts, "DELETE FROM "+target)
			}
			if !containsFold(b.UniqueKey, b.WindowColumn) {
				stmts = append(stmts, deleteMatchingKeys(target, streamOutTable, b.UniqueKey))
			}
		}
	} else {
		out := "SELECT * FROM (" + streamSQL(b.SQL, streamNewTable) + "\n) AS elt_rows"
		if len(b.UniqueKey) > 0 {
			order := ""
			if b.WindowColumn != "" {
				order = " ORDER BY " + quoteIdent(b.WindowColumn) + " DESC NULLS LAST"
			}
			out += " QUALIFY row_number() OVER (PARTITION BY " + identList(b.UniqueKey) + order + ") = 1"
		}
		stmts = append(stmts, "CREATE OR REPLACE TEMP TABLE "+streamOutTable+" AS "+out)
		if exists && len(b.UniqueKey) > 0 {
			if b.WindowColumn != "" {
				// An incoming row older than the key's row in the target
				// (out of order across batches) does not replace it.
				stmts = append(stmts, "DELETE FROM "+streamOutTable+" USING "+target+" WHERE "+
					keysMatch(streamOutTable, target, b.UniqueKey)+" AND "+target+"."+quoteIdent(b.WindowColumn)+" > "+
					streamOutTable+"."+quoteIdent(b.WindowColumn))
			}
			stmts = append(stmts, deleteMatchingKeys(target, streamOutTable, b.UniqueKey))
		}
	}
	if exists {
		stmts = append(stmts, "INSERT INTO "+target+" BY NAME SELECT * FROM "+streamOutTable)
	} else {
		stmts = append(stmts, "CREATE TABLE "+target+" AS SELECT * FROM "+streamOutTable+b.sortOrder())
	}
	return append(stmts, "SELECT count(*) FROM "+streamOutTable)
}

// StreamTrim returns step 3's statements: the retained events before
// lateBefore are dropped, and the batch's temporary tables.
func (b StreamBatch) StreamTrim(lateBefore time.Time) []string {
	var stmts []string
	switch {
	case b.Watermark && b.Fresh:
		keep := ""
		if !lateBefore.IsZero() {
			keep = " WHERE " + b.eventTime() + " >= " + timestampLiteral(lateBefore)
		}
		stmts = append(stmts, "INSERT INTO "+b.StreamRetained()+" BY NAME SELECT * FROM "+streamNewTable+keep)
	case b.Watermark && !lateBefore.IsZero():
		stmts = append(stmts, "DELETE FROM "+b.StreamRetained()+" WHERE "+b.eventTime()+" < "+timestampLiteral(lateBefore))
	}
	for _, t := range []string{streamOutTable, streamNewTable, streamBatchTable} {
		stmts = append(stmts, "DROP TABLE IF EXISTS temp."+t)
	}
	return stmts
}

// StreamCompact returns the statement rewriting the model's table sorted
// by its lookup key, or "" when it has none. A stream model's table is
// created sorted and new windows are appended at its end; rewriting it
// sorted from time to time keeps DuckDB's zone maps pruning a feature
// lookup by key (elt serve) to a few row groups. elt creates no index:
// DuckDB 1.5 cannot replay deletions from an indexed table after a crash.
func (b StreamBatch) StreamCompact() string {
	if b.lookupColumn() == "" {
		return ""
	}
	return "CREATE OR REPLACE TABLE " + b.StreamTarget() + " AS SELECT * FROM " + b.StreamTarget() + b.sortOrder()
}

// sortOrder is the ORDER BY a stream model's table is written in: its
// lookup key, then its window. "" without a lookup key.
func (b StreamBatch) sortOrder() string {
	col := b.lookupColumn()
	if col == "" {
		return ""
	}
	order := " ORDER BY " + quoteIdent(col)
	if b.WindowColumn != "" {
		order += ", " + quoteIdent(b.WindowColumn)
	}
	return order
}

// lookupColumn is the column features are looked up by: the first
// unique_key column that is not the window's. "" when there is none.
func (b StreamBatch) lookupColumn() string {
	for _, k := range b.UniqueKey {
		if !strings.EqualFold(k, b.WindowColumn) {
			return k
		}
	}
	return ""
}

// streamSQL substitutes the events relation into the model's SQL.
func streamSQL(sql, events string) string {
	return strings.ReplaceAll(selectSQL(sql), manifest.StreamEventsToken, events)
}

// keysMatch is the condition that rows of relations a and b have the same
// key.
func keysMatch(a, b string, key []string) string {
	conds := make([]string, len(key))
	for i, k := range key {
		conds[i] = a + "." + quoteIdent(k) + " IS NOT DISTINCT FROM " + b + "." + quoteIdent(k)
	}
	return strings.Join(conds, " AND ")
}

// deleteMatchingKeys deletes target's rows whose key equals a row of from.
func deleteMatchingKeys(target, from string, key []string) string {
	conds := make([]string, len(key))
	for i, k := range key {
		conds[i] = target + "." + quoteIdent(k) + " IS NOT DISTINCT FROM elt_keys." + quoteIdent(k)
	}
	return "DELETE FROM " + target + " USING (SELECT DISTINCT " + identList(key) + " FROM " + from + ") AS elt_keys WHERE " +
		strings.Join(conds, " AND ")
}

func identList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// StreamReader returns the relation a batch reads its events from: the
// files in format, with the declared columns' types when there are some
// (JSON and CSV), and the source's reader options. With no files it is an
// empty relation of the declared columns, so a first batch can create the
// model before any event arrived; "" when there are neither files nor
// declared columns.
func StreamReader(format string, files []string, columns [][2]string, options map[string]any) string {
	if len(files) == 0 {
		if len(columns) == 0 {
			return ""
		}
		names, nulls := make([]string, len(columns)), make([]string, len(columns))
		for i, c := range columns {
			names[i] = quoteIdent(c[0])
			nulls[i] = "CAST(NULL AS " + c[1] + ")"
		}
		return "(SELECT * FROM (VALUES (" + strings.Join(nulls, ", ") + ")) AS elt_empty(" + strings.Join(names, ", ") + ") LIMIT 0)"
	}
	fn := map[string]string{"json": "read_json", "csv": "read_csv", "parquet": "read_parquet"}[format]
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = quoteString(f)
	}
	args := []string{"[" + strings.Join(quoted, ", ") + "]"}
	opts := map[string]string{}
	if format == "json" {
		opts["format"] = "'newline_delimited'"
	}
	if len(columns) > 0 && format != "parquet" {
		parts := make([]string, len(columns))
		for i, c := range columns {
			parts[i] = quoteString(c[0]) + ": " + quoteString(c[1])
		}
		opts["columns"] = "{" + strings.Join(parts, ", ") + "}"
	}
	for k, v := range options {
		if lit, ok := optionLiteral(v); ok {
			opts[k] = lit
		}
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+opts[k])
	}
	return fn + "(" + strings.Join(args, ", ") + ")"
}

// optionLiteral renders a scalar reader option as SQL; lists and mappings
// are left to the compiled source relation.
func optionLiteral(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return quoteString(x), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case int, int64, float64:
		return fmt.Sprint(x), true
	}
	return "", false
}
