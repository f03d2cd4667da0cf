// Package serve answers online feature lookups over HTTP from the tables
// elt builds in DuckDB: GET /features lists the servable models and their
// columns, GET /features/<model>?<col>=<val>… returns the matching rows as
// JSON, GET /health says the server is up.
//
// Every request value reaches DuckDB as a bound parameter, every column name
// is checked against the table's real columns before it is quoted into SQL,
// and a model is named only through the Feature list the handler was built
// with: nothing a client sends is ever spliced into SQL text. Reads run on
// the database handle of the process, so they see each transaction a
// writer in the same process (elt stream) commits, and never a partial one.
//
// Lookups by a model's key (user_id=42, with optional latest and limit)
// are answered from an in-memory key index of its table instead (index.go),
// with the same JSON: a writer in the same process must call
// Handler.Refresh after each commit, which swaps in the re-read rows
// atomically.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/warehouse"
)

// Feature is one servable model.
type Feature struct {
	// Name is the model's name, the <model> of /features/<model>.
	Name string
	// Relation is the quoted relation "schema"."name" the model builds, as
	// manifest.Node.Relation gives it.
	Relation string
	// UniqueKey is the model's unique_key config; rows are ordered by it.
	UniqueKey []string
	// EventTime is the model's event_time config: latest=true keeps, per
	// unique_key minus EventTime, the row with the newest EventTime.
	EventTime string
}

// The limits of a lookup.
const (
	// DefaultLimit is the row limit when a request gives none.
	DefaultLimit = 1000
	// MaxLimit is the largest limit a request may ask for.
	MaxLimit = 100000
	// maxValues bounds the filter values of one request.
	maxValues = 1000
)

// Handler serves the features of one database. It is safe for concurrent
// use. Build it with NewHandler.
//
// Lookups by a model's key are answered from an in-memory index of its
// table (see index.go) when the model has one: a writer in the same
// process must then call Refresh after each commit to the model's table,
// or those lookups keep answering the rows as they were.
type Handler struct {
	db     *warehouse.DB
	models map[string]*model
	names  []string // sorted
	stmts  stmtCache
	// sqlOnly makes DuckDB order and reduce every answer; tests compare
	// it with the Go fast path. It implies noIndex.
	sqlOnly bool
	// noIndex makes every lookup query DuckDB; tests compare it with the
	// index.
	noIndex bool
}

// model is a Feature with its cached table metadata.
type model struct {
	Feature
	// meta is the table's columns, nil until loaded or after the table's
	// schema changed; loading holds mu so only one request reloads.
	meta atomic.Pointer[tableMeta]
	mu   sync.Mutex
	// lookup is the column the key index is keyed by: the first unique_key
	// column that is not event_time; "" when the model has no event_time
	// or no such column, and so no index.
	lookup string
	// ix is the key index, nil until built or after it was dropped. ixMu
	// serializes its builds and refreshes (readers never take it);
	// ixRetry is the UnixNano time before which a request does not try to
	// build it again after a build failed or the table was too big.
	ix      atomic.Pointer[keyIndex]
	ixMu    sync.Mutex
	ixRetry atomic.Int64
}

// tableMeta is the columns of a model's table as DuckDB describes them.
type tableMeta struct {
	cols  []warehouse.Column
	index map[string]int // exact column name → position
}

// NewHandler returns the handler serving features from db. Features with
// an empty or duplicate name are ignored (the first one wins).
func NewHandler(db *warehouse.DB, features []Feature) *Handler {
	return newHandler(db, features)
}

func newHandler(db *warehouse.DB, features []Feature) *Handler {
	h := &Handler{db: db, models: map[string]*model{}}
	h.stmts.entries = map[string]*stmtEntry{}
	for _, f := range features {
		if f.Name == "" || h.models[f.Name] != nil {
			continue
		}
		f.UniqueKey = append([]string(nil), f.UniqueKey...)
		m := &model{Feature: f}
		if f.EventTime != "" {
			for _, c := range f.UniqueKey {
				if c != f.EventTime {
					m.lookup = c
					break
				}
			}
		}
		h.models[f.Name] = m
		h.names = append(h.names, f.Name)
	}
	sort.Strings(h.names)
	return h
}

// ServeHTTP routes a request. A panic is answered as a JSON 500.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer recoverPanic(w)
	h.route(w, r)
}

// route answers a request.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, &apiError{status: http.StatusMethodNotAllowed,
			msg: fmt.Sprintf("method %s is not allowed — the feature server answers GET only", r.Method)})
		return
	}
	path := r.URL.Path
	switch {
	case path == "/health":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case path == "/features" || path == "/features/":
		h.list(w, r)
	case strings.HasPrefix(path, "/features/"):
		res, err := h.lookup(r.Context(), strings.TrimPrefix(path, "/features/"), r.URL.RawQuery)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(res)
	default:
		writeError(w, &apiError{status: http.StatusNotFound,
			msg: fmt.Sprintf("no route %s — use GET /features, GET /features/<model>?<column>=<value> or GET /health", path)})
	}
}

// modelInfo is one entry of GET /features.
type modelInfo struct {
	Name      string       `json:"name"`
	Relation  string       `json:"relation"`
	UniqueKey []string     `json:"unique_key"`
	EventTime string       `json:"event_time,omitempty"`
	Built     bool         `json:"built"`
	Columns   []columnInfo `json:"columns"`
	Error     string       `json:"error,omitempty"`
}

type columnInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// list answers GET /features.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeError(w, &apiError{status: http.StatusBadRequest,
			msg: "GET /features takes no parameters — to look rows up use GET /features/<model>?<column>=<value>"})
		return
	}
	out := make([]modelInfo, 0, len(h.names))
	for _, name := range h.names {
		m := h.models[name]
		info := modelInfo{Name: name, Relation: m.Relation, UniqueKey: m.UniqueKey, EventTime: m.EventTime,
			Columns: []columnInfo{}}
		if info.UniqueKey == nil {
			info.UniqueKey = []string{}
		}
		meta, err := h.meta(r.Context(), m)
		switch {
		case err == nil:
			info.Built = true
			for _, c := range meta.cols {
				info.Columns = append(info.Columns, columnInfo{Name: c.Name, Type: c.Type})
			}
		default:
			var ae *apiError
			if errors.As(err, &ae) {
				info.Error = ae.msg
			} else {
				info.Error = err.Error()
			}
		}
		out = append(out, info)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(out), "models": out})
}

// meta returns m's table metadata, loading it when not cached. A missing
// table is a 503 *apiError; it is not cached, so the next request looks
// again.
func (h *Handler) meta(ctx context.Context, m *model) (*tableMeta, error) {
	if t := m.meta.Load(); t != nil {
		return t, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.meta.Load(); t != nil {
		return t, nil
	}
	cols, err := h.db.Columns(ctx, m.Relation)
	if err != nil {
		if missingTable(err) {
			return nil, &apiError{status: http.StatusServiceUnavailable,
				msg:   fmt.Sprintf("model %s is not built yet: table %s does not exist — run elt run or elt stream first", m.Name, m.Relation),
				extra: map[string]any{"model": m.Name}}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot read the columns of %s: %w", m.Relation, err)
	}
	t := &tableMeta{cols: cols, index: make(map[string]int, len(cols))}
	for i, c := range cols {
		t.index[c.Name] = i
	}
	m.meta.Store(t)
	return t, nil
}

// forget drops m's cached metadata and prepared statements, after its
// table's schema changed or the table went away.
func (h *Handler) forget(m *model) {
	m.meta.Store(nil)
	h.stmts.dropModel(m.Name)
}

// column resolves a request's column name against meta: the exact name,
// else the one column equal to it ignoring case (DuckDB's identifiers are
// case-insensitive). ok is false when there is none.
func (t *tableMeta) column(name string) (warehouse.Column, bool) {
	if i, ok := t.index[name]; ok {
		return t.cols[i], true
	}
	var found *warehouse.Column
	for i := range t.cols {
		if strings.EqualFold(t.cols[i].Name, name) {
			if found != nil {
				return warehouse.Column{}, false
			}
			found = &t.cols[i]
		}
	}
	if found == nil {
		return warehouse.Column{}, false
	}
	return *found, true
}

func (t *tableMeta) names() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.Name
	}
	return out
}

// missingTable reports whether err is DuckDB's "table does not exist".
func missingTable(err error) bool {
	var we *warehouse.Error
	return errors.As(err, &we) && we.Kind == "Catalog Error" && strings.Contains(we.Msg, "does not exist")
}

// schemaChanged reports whether err may come from a table whose schema
// changed since its metadata or statements were cached.
func schemaChanged(err error) bool {
	var we *warehouse.Error
	if !errors.As(err, &we) {
		return false
	}
	switch we.Kind {
	case "Binder Error", "Catalog Error":
		return true
	}
	return false
}

// unknownModel is the 404 for a model name that is not servable.
func (h *Handler) unknownModel(name string) *apiError {
	msg := fmt.Sprintf("no servable model %q", name)
	if s := diag.Suggest(name, h.names); s != "" {
		msg += fmt.Sprintf(" — did you mean %q?", s)
	} else if len(h.names) > 0 {
		msg += " — GET /features lists the servable models"
	} else {
		msg += " — the project has no model materialized as table, incremental, snapshot or stream"
	}
	return &apiError{status: http.StatusNotFound, msg: msg, extra: map[string]any{"models": h.names}}
}

// parseQuery parses a raw query string strictly: a malformed escape is an
// error rather than silently dropped.
func parseQuery(raw string) (url.Values, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("malformed query string: %v", err)}
	}
	return v, nil
}

// apiError is an error answered as JSON {"error": msg, …extra}.
type apiError struct {
	status int
	msg    string
	extra  map[string]any
	// stale: the error may come from cached metadata older than the table
	// (an unknown column); the lookup reloads it and tries again once.
	stale bool
}

func (e *apiError) Error() string { return e.msg }

// writeError answers err as JSON: an *apiError with its status, a
// cancelled request with 503, anything else with 500 and its message.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		status := http.StatusInternalServerError
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusServiceUnavailable
		}
		ae = &apiError{status: status, msg: err.Error()}
	}
	// "error" comes first, then the extra keys in name order.
	b := append([]byte(`{"error":`), appendString(nil, ae.msg)...)
	keys := make([]string, 0, len(ae.extra))
	for k := range ae.extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := json.Marshal(ae.extra[k])
		if err != nil {
			continue
		}
		b = append(append(append(append(b, ','), appendString(nil, k)...), ':'), v...)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.status)
	w.Write(append(b, "}\n"...))
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"cannot encode the answer as JSON"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// recoverer answers a panic of h with a JSON 500 instead of a dropped
// connection or a stack trace.
func recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer recoverPanic(w)
		h.ServeHTTP(w, r)
	})
}

// recoverPanic, deferred, answers a panic with a JSON 500; it re-panics
// http.ErrAbortHandler, which aborts the response on purpose.
func recoverPanic(w http.ResponseWriter) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		writeError(w, fmt.Errorf("internal error: %v", p))
	}
}
