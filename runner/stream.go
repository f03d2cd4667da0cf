package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/stream"
	"github.com/elt-dev/elt/warehouse"
)

// StreamOptions configure a StreamModel.
type StreamOptions struct {
	// RunID is recorded with the positions each batch commits.
	RunID string
	// ProjectDir resolves landing folders; TargetDir holds Kafka's batch
	// files (under stream/).
	ProjectDir, TargetDir string
	// FullRefresh drops the model, its quarantine and its window state
	// and forgets its positions in the first batch's transaction, so the
	// stream is read again from its start.
	FullRefresh bool
	// MaxEvents bounds a Kafka batch (0: the reader's default).
	MaxEvents int
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
}

// BatchStats describe one committed micro-batch.
type BatchStats struct {
	Files int
	// Events were read; Accepted went into the model; Quarantined went to
	// <model>__quarantine (Late of them for being late).
	Events, Accepted, Quarantined, Late int64
	// Rows is how many rows (windows) the batch wrote.
	Rows int64
	// MaxEventTime is the newest event time seen so far; LateBefore the
	// watermark: events before it are late.
	MaxEventTime, LateBefore time.Time
	// Lag is how long the batch's oldest input waited, up to its commit.
	Lag      time.Duration
	Duration time.Duration
	// Compacted says the batch was followed by rewriting the table sorted
	// by its lookup key.
	Compacted bool
	// Changed says the batch wrote the table; ChangedFrom is then the
	// earliest window (event_time value) whose rows it replaced: rows of
	// earlier windows are as before. ChangedFrom is zero when rows of any
	// window may have changed (the table was (re)created, or the model has
	// no watermark and upserts by key).
	Changed     bool
	ChangedFrom time.Time
}

// StreamModel runs the micro-batches of one stream model. Each batch is
// one transaction that writes the model's rows, its quarantine, its
// retained window events, its watermark and the positions it read up to;
// the reader hands out only what follows the committed positions. So a
// batch that fails or is killed is redone whole by the next, and an event
// is counted exactly once. A StreamModel is used by one goroutine at a
// time.
type StreamModel struct {
	Node *manifest.Node
	src  *manifest.Node
	db   *warehouse.DB
	opts StreamOptions

	reader    stream.Reader
	watermark time.Duration
	// wm is the committed watermark row, loaded by the first batch.
	wm      *state.StreamWatermark
	loaded  bool
	exists  bool
	refresh bool
	// sortedRows is the table's size when it was last written sorted, and
	// unsorted the rows appended since (see compact).
	sortedRows, unsorted int64
	// inferred are the event columns and types the first batch read, when
	// the source declares none: later batches read with them, so a file
	// whose values look like another type cannot change the state's types.
	inferred [][2]string
	// fingerprint identifies what the model's rows mean: its SQL and its
	// stream config (see streamFingerprint).
	fingerprint string
}

// compactMinRows is the fewest appended rows that make a stream model's
// table be rewritten sorted; compaction also waits until the appended
// rows are half as many as the sorted ones.
var compactMinRows int64 = 50000 // a variable for tests

// NewStreamModel prepares the stream model id of m: it reads the model's
// committed positions and opens its stream source.
func NewStreamModel(ctx context.Context, db *warehouse.DB, m *manifest.Manifest, id manifest.NodeID, opts StreamOptions) (*StreamModel, error) {
	n := m.Nodes[id]
	if n == nil || !n.IsStream() {
		return nil, fmt.Errorf("%s is not a stream model", id)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &StreamModel{Node: n, db: db, opts: opts, refresh: opts.FullRefresh}
	for _, dep := range n.DependsOn {
		if d := m.Nodes[dep]; d != nil && d.IsStreamSource() {
			s.src = d
		}
	}
	if s.src == nil {
		return nil, fmt.Errorf("%s reads no stream source", n.Name)
	}
	s.fingerprint = streamFingerprint(n, s.src)
	if n.Config.Watermark != "" {
		w, err := manifest.ParseWatermark(n.Config.Watermark)
		if err != nil {
			return nil, err
		}
		s.watermark = w
	}
	var committed []stream.Position
	if !opts.FullRefresh {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		ps, err := state.StreamPositions(ctx, c, string(n.ID))
		c.Close()
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			committed = append(committed, stream.Position{Key: p.Key, Offset: p.Offset})
		}
	}
	info := s.src.Source.Stream
	var err error
	if info.Kafka != nil {
		s.reader, err = stream.NewKafka(ctx, stream.KafkaConfig{
			Brokers: info.Kafka.Brokers, Topic: info.Kafka.Topic, MaxEvents: opts.MaxEvents,
			TmpDir: filepath.Join(opts.TargetDir, "stream", n.Name),
		}, committed)
	} else {
		var settle time.Duration
		if info.Settle != "" {
			settle, _ = time.ParseDuration(info.Settle) // checked at load
			if settle == 0 {
				settle = -1 // settle: 0s — read files as soon as they are listed
			}
		}
		s.reader, err = stream.NewLanding(stream.LandingConfig{
			ProjectDir: opts.ProjectDir, Glob: info.Path, Format: info.Format, Settle: settle, MaxFiles: info.MaxFiles,
		}, committed)
	}
	if err != nil {
		return nil, fmt.Errorf("source %s.%s: %w", s.src.Source.SourceName, s.src.Source.TableName, err)
	}
	return s, nil
}

// Close releases the model's reader.
func (s *StreamModel) Close() error {
	if s.reader == nil {
		return nil
	}
	err := s.reader.Close()
	s.reader = nil
	return err
}

// Batch runs one micro-batch over what arrived since the last one. It
// returns false when there was nothing to do (no new input, and the model
// exists or cannot be created before its first event).
func (s *StreamModel) Batch(ctx context.Context) (BatchStats, bool, error) {
	started := s.opts.Now()
	var st BatchStats
	b, err := s.reader.Next(ctx)
	if err != nil {
		return st, false, err
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		s.reader.Abort(b)
		return st, false, err
	}
	defer c.Close()
	if !s.loaded {
		if err := s.load(ctx, c); err != nil {
			s.reader.Abort(b)
			return st, false, err
		}
	}
	if s.wm != nil && s.wm.Fingerprint != s.fingerprint && !s.refresh {
		s.reader.Abort(b)
		return st, false, fmt.Errorf("the model or its stream config changed since its table was built, so new windows would mix two "+
			"versions — rebuild it from the start of its stream: elt stream --once --full-refresh -s %s", s.Node.Name)
	}
	info := s.src.Source.Stream
	columns := info.Columns
	if len(columns) == 0 && !s.refresh {
		columns = s.inferred
	}
	reader := materialize.StreamReader(b.Format, b.Files, columns, info.Options)
	if b.Empty() {
		reader = materialize.StreamReader(info.Format, nil, columns, info.Options)
		if (s.exists && !s.refresh) || (reader == "" && !s.refresh) {
			s.reader.Abort(b)
			return st, false, nil
		}
	}
	st.Files = len(b.Files)
	wm := state.StreamWatermark{NodeID: string(s.Node.ID), Fingerprint: s.fingerprint}
	if s.wm != nil && !s.refresh {
		wm = *s.wm
	}
	exists := s.exists && !s.refresh
	sb := materialize.StreamBatch{
		Schema: schemaOf(s.Node), Name: nameOf(s.Node), SQL: s.Node.CompiledSQL,
		EventTime: s.src.Source.EventTime, WindowColumn: s.Node.Config.EventTime, UniqueKey: s.Node.Config.UniqueKey,
		Watermark: s.watermark > 0, Rules: s.Node.Config.Quarantine, Reader: reader,
		LateBefore: wm.LateBefore, RunID: s.opts.RunID, EventTimeType: columnType(columns, s.src.Source.EventTime),
	}
	err = c.InTx(ctx, func(tx *warehouse.Tx) error {
		if s.refresh {
			if err := tx.Exec(ctx, strings.Join(append(sb.StreamDrop(), state.ClearStreamSQL(string(s.Node.ID))), ";\n")); err != nil {
				return err
			}
		}
		if reader == "" { // a full refresh before any event, without declared columns
			return nil
		}
		if sb.Watermark {
			fresh, err := retainedMissing(ctx, tx, sb)
			if err != nil {
				return err
			}
			sb.Fresh = fresh
		}
		// Event times are UTC: a TIMESTAMPTZ is compared and bucketed as
		// UTC, whatever the machine's zone. The connection's zone is
		// reset after the batch, before it goes back to the pool.
		res, err := tx.Query(ctx, "SET SESSION TimeZone = 'UTC';\n"+strings.Join(sb.StreamLoad(), ";\n"))
		if err != nil {
			return err
		}
		row := res.Rows[0]
		st.Events, st.Accepted, st.Late = toInt(row[0]), toInt(row[1]), toInt(row[2])
		st.Quarantined = st.Events - st.Accepted
		minE, _ := row[3].(time.Time)
		maxE, _ := row[4].(time.Time)
		if st.Accepted > 0 || !exists {
			var floor time.Time
			if sb.Watermark && exists && st.Accepted > 0 {
				f, err := windowStart(ctx, tx, sb, minE, exists)
				if err != nil {
					return err
				}
				floor = laterOf(f, wm.LateBefore)
			}
			res, err := tx.Query(ctx, strings.Join(sb.StreamUpsert(exists, floor), ";\n"))
			if err != nil {
				return err
			}
			st.Rows = toInt(res.Rows[0][0])
			st.Changed, st.ChangedFrom = true, floor
		}
		wm.MaxEventTime = laterOf(wm.MaxEventTime, maxE)
		if sb.Watermark && !wm.MaxEventTime.IsZero() {
			lb, err := windowStart(ctx, tx, sb, wm.MaxEventTime.Add(-s.watermark), true)
			if err != nil {
				return err
			}
			wm.LateBefore = laterOf(wm.LateBefore, lb)
		}
		wm.Events += st.Events
		wm.LateEvents += st.Late
		wm.Batches++
		wm.Fingerprint = s.fingerprint
		wm.Updated = s.opts.Now().UTC()
		positions := make([]state.StreamPosition, len(b.Positions))
		for i, p := range b.Positions {
			positions[i] = state.StreamPosition{Key: p.Key, Offset: p.Offset}
		}
		tx.Finally(sb.StreamTrim(wm.LateBefore)...)
		tx.Finally(state.RecordStreamWatermarkSQL(wm))
		// A Kafka partition's position moves; a landed file's is new.
		kafka := s.src.Source.Stream.Kafka != nil
		if sql := state.RecordStreamPositionsSQL(string(s.Node.ID), s.opts.RunID, positions, wm.Updated, kafka); sql != "" {
			tx.Finally(sql)
		}
		return failpoint("stream-before-commit")
	})
	// A failed RESET discards the connection (Exec marks it bad).
	_ = c.Exec(context.WithoutCancel(ctx), "RESET SESSION TimeZone")
	if err != nil {
		s.reader.Abort(b)
		if ctx.Err() != nil {
			return st, false, ctx.Err()
		}
		return st, false, s.batchError(b, err)
	}
	s.reader.Commit(b)
	if !exists {
		s.sortedRows, s.unsorted = st.Rows, 0
	} else {
		s.unsorted += st.Rows
	}
	if s.refresh {
		s.exists = reader != "" // dropped, and created again only by a batch with a reader
		s.inferred = nil
	} else if reader != "" {
		s.exists = true
	}
	s.refresh = false
	if len(info.Columns) == 0 && s.inferred == nil && s.exists {
		if s.inferred, err = eventColumns(ctx, c, sb); err != nil {
			return st, true, err
		}
	}
	s.wm = &wm
	st.MaxEventTime, st.LateBefore = wm.MaxEventTime, wm.LateBefore
	now := s.opts.Now()
	if !b.Oldest.IsZero() {
		st.Lag = now.Sub(b.Oldest)
	}
	if err := failpoint("stream-after-commit"); err != nil {
		return st, true, err
	}
	if st.Compacted, err = s.compact(ctx, c, sb); err != nil {
		return st, true, err
	}
	st.Duration = s.opts.Now().Sub(started)
	return st, true, nil
}

// compact rewrites the model's table sorted by its lookup key once enough
// rows were appended since the last time, in a transaction of its own:
// it changes the rows' order, never their content.
func (s *StreamModel) compact(ctx context.Context, c *warehouse.Conn, sb materialize.StreamBatch) (bool, error) {
	stmt := sb.StreamCompact()
	if stmt == "" || s.unsorted < compactMinRows || s.unsorted < s.sortedRows/2 {
		return false, nil
	}
	var rows int64
	err := c.InTx(ctx, func(tx *warehouse.Tx) error {
		if err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
		n, err := tx.RowCount(ctx, sb.StreamTarget())
		rows = n
		return err
	})
	if err != nil {
		return false, fmt.Errorf("rewrite %s sorted: %w", sb.StreamTarget(), err)
	}
	s.sortedRows, s.unsorted = rows, 0
	return true, nil
}

// load reads the committed watermark and whether the model exists.
func (s *StreamModel) load(ctx context.Context, c *warehouse.Conn) error {
	wm, err := state.StreamWatermarkOf(ctx, c, string(s.Node.ID))
	if err != nil {
		return err
	}
	schema, name := schemaOf(s.Node), nameOf(s.Node)
	// In this database: an attached one may hold a table of that name.
	n, err := scalarInt(ctx, c, "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = "+
		warehouse.QuoteString(schema)+" AND table_name = "+warehouse.QuoteString(name)+" AND table_type = 'BASE TABLE'")
	if err != nil {
		return err
	}
	s.wm, s.exists, s.loaded = wm, n > 0, true
	if s.exists && len(s.src.Source.Stream.Columns) == 0 {
		sb := materialize.StreamBatch{Schema: schema, Name: name}
		if s.inferred, err = eventColumns(ctx, c, sb); err != nil {
			return err
		}
	}
	if s.exists {
		if s.sortedRows, err = scalarInt(ctx, c, "SELECT count(*) FROM "+warehouse.Relation(schema, name)); err != nil {
			return err
		}
	}
	return nil
}

// eventColumns returns the event columns and types a stream model's
// batches read, from its quarantine table (made like the first batch's
// events, plus the quarantine columns); nil when there is none.
func eventColumns(ctx context.Context, q querier, sb materialize.StreamBatch) ([][2]string, error) {
	schema, name, _ := warehouse.SplitRelation(materialize.QuarantineRelation(sb.Schema, sb.Name))
	res, err := q.Query(ctx, columnsSQL(schema, name))
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil, nil
		}
		return nil, err
	}
	var cols [][2]string
	for _, r := range res.Rows {
		n, _ := r[0].(string)
		t, _ := r[1].(string)
		if n == "elt_reason" || n == "elt_run_id" || n == "elt_quarantined_at" {
			continue
		}
		cols = append(cols, [2]string{n, t})
	}
	return cols, nil
}

// columnType returns the type of column name in cols, "" when absent.
func columnType(cols [][2]string, name string) string {
	for _, c := range cols {
		if strings.EqualFold(c[0], name) {
			return c[1]
		}
	}
	return ""
}

// streamFingerprint identifies what a stream model's rows mean: its
// compiled SQL and the config that decides windows, keys, lateness and
// quarantine, and its source's event time. Tags, docs and other config
// may change freely.
func streamFingerprint(n *manifest.Node, src *manifest.Node) string {
	h := sha256.New()
	c := n.Config
	fmt.Fprintf(h, "%s\x00%s\x00%q\x00%s\x00%v", n.CompiledSQL, c.EventTime, c.UniqueKey, c.Watermark, c.Quarantine)
	if src != nil && src.Source != nil {
		fmt.Fprintf(h, "\x00%s", src.Source.EventTime)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// batchError names the batch's input in a failed batch's error.
func (s *StreamModel) batchError(b *stream.Batch, err error) error {
	where := "no new events"
	switch len(b.Files) {
	case 0:
	case 1:
		where = "file " + s.rel(b.Files[0])
	default:
		where = fmt.Sprintf("%d files from %s", len(b.Files), s.rel(b.Files[0]))
	}
	if errors.Is(err, errInjected) {
		return err
	}
	return fmt.Errorf("batch of %s: %w — nothing of it was committed; fix the input or the model and run again", where, err)
}

func (s *StreamModel) rel(p string) string {
	if r, err := filepath.Rel(s.opts.ProjectDir, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// windowStart returns the start of the window holding t: as the model
// computes it for a probe event, else the target's latest window at or
// before t (see materialize.StreamWindowQuery); zero when neither knows.
func windowStart(ctx context.Context, q querier, sb materialize.StreamBatch, t time.Time, exists bool) (time.Time, error) {
	res, err := q.Query(ctx, sb.StreamWindowQuery(t, exists))
	if err != nil {
		return time.Time{}, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 {
		return time.Time{}, fmt.Errorf("window of %s: unexpected result %v", t, res.Rows)
	}
	if probe, ok := res.Rows[0][0].(time.Time); ok {
		return probe, nil
	}
	known, _ := res.Rows[0][1].(time.Time)
	return known, nil
}

// retainedMissing reports whether the model's retained events table does
// not exist: the batch is then Fresh.
func retainedMissing(ctx context.Context, q querier, sb materialize.StreamBatch) (bool, error) {
	res, err := q.Query(ctx, sb.StreamRetainedExists())
	if err != nil {
		return false, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return false, fmt.Errorf("retained events of %s: unexpected result %v", sb.StreamTarget(), res.Rows)
	}
	return toInt(res.Rows[0][0]) == 0, nil
}

// laterOf returns the later of a and b, a zero time counting as earliest.
func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// PrepareStreams brings elt_state up to date before stream models run
// outside a Run (elt stream).
func PrepareStreams(ctx context.Context, db *warehouse.DB) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.InTx(ctx, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) })
}
