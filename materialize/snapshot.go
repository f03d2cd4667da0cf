package materialize

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The columns a snapshot adds to its source's columns.
const (
	SnapshotScdID     = "elt_scd_id"
	SnapshotUpdatedAt = "elt_updated_at"
	SnapshotValidFrom = "elt_valid_from"
	SnapshotValidTo   = "elt_valid_to"
	SnapshotIsDeleted = "elt_is_deleted"
)

// snapshotMeta lists the columns every snapshot table has besides its
// source's (elt_is_deleted only with hard_deletes: new_record).
var snapshotMeta = []string{SnapshotScdID, SnapshotUpdatedAt, SnapshotValidFrom, SnapshotValidTo}

// ChangesSuffix ends the name of the temporary table holding a snapshot
// run's changes.
const ChangesSuffix = "__elt_changes"

// CheckSnapshot validates a snapshot model's configuration: unique_key,
// strategy timestamp (with updated_at) or check (with check_cols), and
// hard_deletes ignore, invalidate or new_record. Messages say how to fix.
func CheckSnapshot(c SnapshotConfig) error {
	if len(c.UniqueKey) == 0 {
		return errors.New("a snapshot needs a unique_key — set unique_key to the column (or list of columns) identifying a row")
	}
	switch c.Strategy {
	case "timestamp":
		if c.UpdatedAt == "" {
			return errors.New("strategy 'timestamp' needs updated_at — name the column holding each row's last change time")
		}
	case "check":
		if len(c.CheckCols) == 0 {
			return errors.New("strategy 'check' needs check_cols — list the columns to compare, or write check_cols='all'")
		}
	case "":
		return errors.New("a snapshot needs a strategy — set strategy='timestamp' (with updated_at) or strategy='check' (with check_cols)")
	default:
		return fmt.Errorf("unknown snapshot strategy %q — use timestamp or check", c.Strategy)
	}
	switch c.HardDeletes {
	case "", "ignore", "invalidate", "new_record":
	default:
		return fmt.Errorf("unknown hard_deletes %q — use ignore, invalidate or new_record", c.HardDeletes)
	}
	return nil
}

// SnapshotConfig is the part of a model's configuration a snapshot reads.
type SnapshotConfig struct {
	UniqueKey   []string
	Strategy    string
	UpdatedAt   string
	CheckCols   []string
	HardDeletes string
}

func snapshotConfig(in Input) SnapshotConfig {
	c := in.Config
	return SnapshotConfig{UniqueKey: c.UniqueKey, Strategy: c.Strategy, UpdatedAt: c.UpdatedAt, CheckCols: c.CheckCols, HardDeletes: c.HardDeletes}
}

// Snapshot plans a snapshot model (SCD type 2). Its first run (no table
// yet, or a view) builds the table from the model's rows, every row a
// current version. Later runs copy the model's rows (the source's current
// state) into the temporary batch table; the plan is Incremental, and SnapshotPublish, given the target's and the
// batch's columns, returns the statements recording the changes. The
// runner runs both in the node's one transaction. --full-refresh does not
// rebuild a snapshot: its history cannot be recomputed from the source.
func Snapshot(in Input) (Plan, error) {
	if err := checkTarget(in); err != nil {
		return Plan{}, err
	}
	if strings.TrimSpace(in.SQL) == "" {
		return Plan{}, fmt.Errorf("snapshot %s has no SQL — write a SELECT of the rows to track in its file", in.Name)
	}
	if err := CheckSnapshot(snapshotConfig(in)); err != nil {
		return Plan{}, err
	}
	if in.Existing != ExistingTable {
		return snapshotFirstRun(in), nil
	}
	return batchPlan(in), nil
}

// snapshotFirstRun plans a snapshot whose table does not exist yet: every
// row of the model becomes a current version, built under a staging name,
// checked (unique keys; for timestamp, no NULL updated_at) and renamed.
func snapshotFirstRun(in Input) Plan {
	c := snapshotConfig(in)
	staging := relation(in.Schema, in.Name+StagingSuffix)
	s := snap{in: in, c: c, target: relation(in.Schema, in.Name), batch: staging, now: timestampLiteral(in.Now)}
	p := Plan{Target: s.target, Staging: staging, HasRows: true, Main: 1}
	// The model's SQL follows "(" on the first line (see package doc).
	p.Build = append([]string{"DROP TABLE IF EXISTS " + staging,
		"CREATE TABLE " + staging + " AS SELECT " + s.firstColumns() + " FROM (" + selectSQL(in.SQL) + "\n) AS __elt_source"},
		s.checks()...)
	switch in.Existing {
	case ExistingView:
		p.Publish = append(p.Publish, "DROP VIEW IF EXISTS "+s.target)
	case ExistingTable:
		p.Publish = append(p.Publish, "DROP TABLE IF EXISTS "+s.target)
	}
	p.Publish = append(p.Publish, "ALTER TABLE "+staging+" RENAME TO "+quoteIdent(in.Name))
	return p
}

func timestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "'"
}

// SnapshotPublish returns the statements recording one snapshot run: the
// batch (the source now) against the target's current rows (elt_valid_to
// IS NULL). targetCols are nil when the target table does not exist yet.
//
// Invariants, each kept by construction:
//   - keys match NULL-safely (IS NOT DISTINCT FROM), so a NULL in a
//     composite key never multiplies rows; a key twice in the source, or
//     (timestamp) a NULL updated_at, fails the run with a clear error;
//   - a key has at most one current row; a change closes it
//     (elt_valid_to = the new row's elt_valid_from) and opens a new one;
//   - every row has elt_valid_from < elt_valid_to and a key's ranges never
//     overlap: a new version starts after the version it closes (at least
//     1µs after its start) and a key that comes back starts no earlier
//     than its last version ended;
//   - timestamp: a change is a greater updated_at, and versions start at
//     updated_at; check: a change is any check column IS DISTINCT FROM the
//     current row's, and versions start at in.Now;
//   - hard_deletes: a key missing from the source is left alone (ignore),
//     its current row closed at in.Now (invalidate), or closed and followed
//     by one current row with elt_is_deleted = true carrying the last known
//     values (new_record), written once; a key that reappears opens a new
//     current row;
//   - source columns the target lacks are added (history rows get NULL);
//     columns the source dropped stay, NULL in new rows;
//   - an unchanged source adds nothing.
func SnapshotPublish(in Input, targetCols, batchCols []Column) ([]string, error) {
	c := snapshotConfig(in)
	if err := CheckSnapshot(c); err != nil {
		return nil, err
	}
	if in.Now.IsZero() {
		return nil, errors.New("a snapshot run needs the current time")
	}
	for _, m := range append(append([]string(nil), snapshotMeta...), SnapshotIsDeleted) {
		if hasCol(batchCols, m) {
			return nil, fmt.Errorf("the snapshot's SELECT returns a column %s, a name elt uses for snapshot metadata — rename or exclude it", m)
		}
	}
	if hasCol(batchCols, "__elt_src") {
		return nil, errors.New("the column name __elt_src is reserved by elt — rename it")
	}
	batchNames := names(batchCols)
	if err := requireColumns("unique_key", c.UniqueKey, batchNames); err != nil {
		return nil, err
	}
	if c.Strategy == "timestamp" {
		if err := requireColumns("updated_at", []string{c.UpdatedAt}, batchNames); err != nil {
			return nil, err
		}
	}
	checkCols := c.CheckCols
	if c.Strategy == "check" {
		if len(checkCols) == 1 && strings.EqualFold(checkCols[0], "all") {
			checkCols = nil
			for _, n := range batchNames {
				if !containsFold(c.UniqueKey, n) {
					checkCols = append(checkCols, n)
				}
			}
		} else if err := requireColumns("check_cols", checkCols, batchNames); err != nil {
			return nil, err
		}
	}
	s := snap{in: in, c: c, checkCols: checkCols, target: relation(in.Schema, in.Name), batch: BatchRelation(in),
		now: timestampLiteral(in.Now)}
	stmts := s.checks()
	if targetCols == nil {
		return append(stmts, s.create()...), nil
	}
	for _, m := range snapshotMeta {
		if !hasCol(targetCols, m) {
			return nil, fmt.Errorf("table %s exists but is not a snapshot (it has no column %s) — drop it, or give the snapshot another alias", s.target, m)
		}
	}
	s.hasDeleted = hasCol(targetCols, SnapshotIsDeleted)
	for _, col := range batchCols {
		if !hasCol(targetCols, col.Name) {
			stmts = append(stmts, "ALTER TABLE "+s.target+" ADD COLUMN "+quoteIdent(col.Name)+" "+col.Type)
		}
	}
	if c.HardDeletes == "new_record" && !s.hasDeleted {
		stmts = append(stmts, "ALTER TABLE "+s.target+" ADD COLUMN "+SnapshotIsDeleted+" BOOLEAN DEFAULT false")
		s.hasDeleted = true
	}
	return append(stmts, s.update(batchCols)...), nil
}

// snap holds what the statements of one snapshot run are built from.
type snap struct {
	in         Input
	c          SnapshotConfig
	checkCols  []string
	target     string
	batch      string
	now        string // the run's time as a TIMESTAMP literal
	hasDeleted bool   // the target has elt_is_deleted
}

// checks fail the run when a key appears twice in the batch or, for the
// timestamp strategy, a row has a NULL updated_at.
func (s snap) checks() []string {
	out := []string{s.duplicateCheck()}
	if s.c.Strategy == "timestamp" {
		out = append(out, "SELECT error("+quoteString("snapshot "+s.in.Name+": ")+" || count(*) || "+
			quoteString(" rows have a NULL updated_at ("+s.c.UpdatedAt+") — filter them out or coalesce the column in the model")+
			") FROM "+s.batch+" WHERE "+quoteIdent(s.c.UpdatedAt)+" IS NULL HAVING count(*) > 0")
	}
	return out
}

// duplicateCheck fails the run when a key appears twice in the batch.
func (s snap) duplicateCheck() string {
	return "SELECT error(" + quoteString("snapshot "+s.in.Name+": ") + " || count(*) || " +
		quoteString(" keys appear more than once in its SELECT (unique_key "+strings.Join(s.c.UniqueKey, ", ")+") — make the key unique, e.g. keep the latest row per key") +
		") FROM (SELECT 1 FROM " + s.batch + " GROUP BY " + joinIdents(s.c.UniqueKey, "") + " HAVING count(*) > 1) HAVING count(*) > 0"
}

// updatedAt is the source's change time as a TIMESTAMP, for the timestamp
// strategy, else the run's time; prefix qualifies the column.
func (s snap) updatedAt(prefix string) string {
	if s.c.Strategy == "timestamp" {
		return "CAST(" + prefix + quoteIdent(s.c.UpdatedAt) + " AS TIMESTAMP)"
	}
	return s.now
}

// scdID is the md5 of the key columns (qualified by prefix), the version's
// start and whether it is a deletion row: unique per row, since a key's
// versions start at distinct times.
func (s snap) scdID(prefix, from string, deletion bool) string {
	parts := make([]string, 0, len(s.c.UniqueKey)+2)
	for _, k := range s.c.UniqueKey {
		parts = append(parts, "coalesce(CAST("+prefix+quoteIdent(k)+" AS VARCHAR), '\\N')")
	}
	parts = append(parts, "CAST("+from+" AS VARCHAR)")
	if deletion {
		parts = append(parts, "'deleted'")
	}
	return "md5(concat_ws('|', " + strings.Join(parts, ", ") + "))"
}

// create returns the first run's statements: the target from the batch,
// every row current.
func (s snap) create() []string {
	var out []string
	switch s.in.Existing {
	case ExistingView:
		out = append(out, "DROP VIEW IF EXISTS "+s.target)
	case ExistingTable:
		out = append(out, "DROP TABLE IF EXISTS "+s.target)
	}
	return append(out, "CREATE TABLE "+s.target+" AS SELECT "+s.firstColumns()+" FROM "+s.batch, "DROP TABLE "+s.batch)
}

// firstColumns is the select list of a first run: every source column and
// the metadata of a current first version.
func (s snap) firstColumns() string {
	from := s.updatedAt("")
	cols := "*, " + s.scdID("", from, false) + " AS " + SnapshotScdID + ", " + from + " AS " + SnapshotUpdatedAt + ", " +
		from + " AS " + SnapshotValidFrom + ", CAST(NULL AS TIMESTAMP) AS " + SnapshotValidTo
	if s.c.HardDeletes == "new_record" {
		cols += ", false AS " + SnapshotIsDeleted
	}
	return cols
}

// update returns the statements of a run over an existing target: the
// changes table, deletion rows, closing, new versions, and the DROPs.
func (s snap) update(batchCols []Column) []string {
	keys := s.c.UniqueKey
	match := func(a, b string) string {
		conds := make([]string, len(keys))
		for i, k := range keys {
			conds[i] = a + "." + quoteIdent(k) + " IS NOT DISTINCT FROM " + b + "." + quoteIdent(k)
		}
		return strings.Join(conds, " AND ")
	}
	isDeleted := "false"
	if s.hasDeleted {
		isDeleted = "coalesce(cur." + SnapshotIsDeleted + ", false)"
	}
	var changed string
	if s.c.Strategy == "timestamp" {
		changed = "(cur." + SnapshotUpdatedAt + " IS NULL OR " + s.updatedAt("src.") + " > cur." + SnapshotUpdatedAt + ")"
	} else {
		conds := make([]string, len(s.checkCols))
		for i, col := range s.checkCols {
			conds[i] = "src." + quoteIdent(col) + " IS DISTINCT FROM cur." + quoteIdent(col)
		}
		changed = "(" + strings.Join(conds, " OR ") + ")"
		if len(conds) == 0 {
			changed = "false"
		}
	}
	deleted := "NULL"
	if s.c.HardDeletes == "invalidate" || s.c.HardDeletes == "new_record" {
		deleted = "CASE WHEN NOT " + isDeleted + " THEN 'deleted' END"
	}
	kind := "CASE WHEN cur.__elt_cur IS NULL THEN 'new' WHEN src.__elt_src IS NULL THEN " + deleted +
		" WHEN " + isDeleted + " THEN 'revived' WHEN " + changed + " THEN 'changed' END"
	curCols := joinIdents(keys, "") + ", " + SnapshotScdID + ", " + SnapshotUpdatedAt + ", " + SnapshotValidFrom
	if s.hasDeleted {
		curCols += ", " + SnapshotIsDeleted
	}
	for _, col := range s.checkCols {
		if !containsFold(keys, col) {
			curCols += ", " + quoteIdent(col)
		}
	}

	// The start of each new version (and end of the version it closes).
	var base string
	u := s.updatedAt("")
	if s.c.Strategy == "timestamp" {
		base = "CASE __elt_kind WHEN 'new' THEN (CASE WHEN __elt_last_to IS NULL OR " + u + " > __elt_last_to THEN " + u + " ELSE " + s.now + " END)" +
			" WHEN 'changed' THEN " + u +
			" WHEN 'revived' THEN (CASE WHEN " + u + " > __elt_cur_from THEN " + u + " ELSE " + s.now + " END)" +
			" ELSE " + s.now + " END"
	} else {
		base = s.now
	}
	at := "CASE WHEN __elt_kind = 'new' THEN (CASE WHEN __elt_last_to IS NULL THEN " + base + " ELSE greatest(" + base + ", __elt_last_to) END)" +
		" ELSE greatest(" + base + ", __elt_cur_from + INTERVAL 1 MICROSECOND) END"

	changes := `"temp"."main".` + quoteIdent(s.in.Name+ChangesSuffix)
	changesTable := "CREATE OR REPLACE TEMP TABLE " + quoteIdent(s.in.Name+ChangesSuffix) + " AS SELECT *, " + at + " AS __elt_at FROM (" +
		"\n  SELECT src.*, cur." + SnapshotScdID + " AS __elt_cur_id, cur." + SnapshotValidFrom + " AS __elt_cur_from, h.__elt_last_to, " + kind + " AS __elt_kind" +
		"\n  FROM (SELECT *, true AS __elt_src FROM " + s.batch + ") AS src" +
		"\n  FULL JOIN (SELECT " + curCols + ", true AS __elt_cur FROM " + s.target + " WHERE " + SnapshotValidTo + " IS NULL) AS cur ON " + match("src", "cur") +
		"\n  LEFT JOIN (SELECT " + joinIdents(keys, "") + ", max(" + SnapshotValidTo + ") AS __elt_last_to FROM " + s.target +
		" GROUP BY " + joinIdents(keys, "") + ") AS h ON cur.__elt_cur IS NULL AND " + match("src", "h") +
		"\n) WHERE __elt_kind IS NOT NULL"

	var out []string
	out = append(out, changesTable)
	if s.c.HardDeletes == "new_record" {
		exclude := strings.Join(append(append([]string(nil), snapshotMeta...), SnapshotIsDeleted), ", ")
		out = append(out, "INSERT INTO "+s.target+" BY NAME SELECT t.* EXCLUDE ("+exclude+"), "+
			s.scdID("t.", "c.__elt_at", true)+" AS "+SnapshotScdID+", c.__elt_at AS "+SnapshotUpdatedAt+", c.__elt_at AS "+SnapshotValidFrom+
			", true AS "+SnapshotIsDeleted+"\nFROM "+s.target+" AS t JOIN "+changes+" AS c ON t."+SnapshotScdID+" = c.__elt_cur_id"+
			"\nWHERE c.__elt_kind = 'deleted' AND t."+SnapshotValidTo+" IS NULL")
	}
	out = append(out, "UPDATE "+s.target+" AS t SET "+SnapshotValidTo+" = c.__elt_at FROM "+changes+" AS c"+
		"\nWHERE t."+SnapshotScdID+" = c.__elt_cur_id AND t."+SnapshotValidTo+" IS NULL AND c.__elt_kind IN ('changed', 'revived', 'deleted')")
	newCols := joinIdents(names(batchCols), "") + ", " + s.scdID("", "__elt_at", false) + " AS " + SnapshotScdID + ", " +
		s.versionUpdatedAt() + " AS " + SnapshotUpdatedAt + ", __elt_at AS " + SnapshotValidFrom
	if s.hasDeleted {
		newCols += ", false AS " + SnapshotIsDeleted
	}
	out = append(out, "INSERT INTO "+s.target+" BY NAME SELECT "+newCols+" FROM "+changes+" WHERE __elt_kind IN ('new', 'changed', 'revived')",
		"DROP TABLE "+changes, "DROP TABLE "+s.batch)
	return out
}

// versionUpdatedAt is elt_updated_at of a new version: the source's
// updated_at (timestamp) or the version's start (check).
func (s snap) versionUpdatedAt() string {
	if s.c.Strategy == "timestamp" {
		return s.updatedAt("")
	}
	return "__elt_at"
}

func names(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// hasCol reports whether cols has a column called name, compared
// case-insensitively as DuckDB resolves identifiers.
func hasCol(cols []Column, name string) bool {
	for _, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return true
		}
	}
	return false
}
