package compiler

import (
	"fmt"
	"strings"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// streamInfo returns a stream source's manifest entry.
func streamInfo(t *project.SourceTable) *manifest.StreamInfo {
	s := t.Stream
	info := &manifest.StreamInfo{Path: s.Path, Format: s.Format, Settle: s.Settle, MaxFiles: s.MaxFiles, Options: t.Options}
	if s.Kafka != nil {
		info.Kafka = &manifest.KafkaInfo{Brokers: s.Kafka.Brokers, Topic: s.Kafka.Topic}
	}
	typed := len(t.Columns) > 0
	for _, col := range t.Columns {
		if col.DataType == "" {
			typed = false
			break
		}
		info.Columns = append(info.Columns, [2]string{col.Name, col.DataType})
	}
	if !typed {
		info.Columns = nil
	}
	return info
}

// landingReader returns the reader expression of a landing folder for
// models that are not stream models: every file landed so far, read with
// the declared column types when there are some.
func landingReader(t *project.SourceTable, info *manifest.StreamInfo) (string, error) {
	lt := *t
	lt.Path, lt.Format = info.Path, info.Format
	lt.Options = map[string]any{}
	for k, v := range t.Options {
		lt.Options[k] = v
	}
	if info.Format == "json" {
		if _, ok := lt.Options["format"]; !ok {
			lt.Options["format"] = "newline_delimited"
		}
	}
	if len(info.Columns) > 0 && info.Format != "parquet" {
		if _, ok := lt.Options["columns"]; !ok {
			lt.Options["columns"] = info.Columns // in declared order
		}
	}
	return readerExpr(&lt)
}

// streamSourceRelation is what source() of a stream source renders as:
// in a stream model, the batch's events (a token the runner substitutes);
// elsewhere, every landed file. A Kafka topic has no files: only stream
// models can read it.
func (st *renderState) streamSourceRelation(n *manifest.Node) (relation, error) {
	if st.u != nil && st.u.node.IsStream() {
		return relation{expr: manifest.StreamEventsToken}, nil
	}
	if n.Source.Stream.Kafka != nil {
		return relation{}, fmt.Errorf("source('%s', '%s') is a Kafka stream, which only materialized='stream' models read — make this model a stream model, or ref() the stream model that reads it",
			n.Source.SourceName, n.Source.TableName)
	}
	return relation{expr: n.Relation, Schema: n.Schema, Identifier: n.Alias}, nil
}

// checkStreams reports stream models that cannot run: one that reads no
// stream source or more than one, a watermark without the event_time of
// its windows or a unique_key to upsert them by.
func (c *compilation) checkStreams(m *manifest.Manifest) {
	for _, u := range c.modelList {
		n := u.node
		if !n.Config.Enabled || u.failed || !n.IsStream() {
			continue
		}
		var streams []string
		for _, dep := range n.DependsOn {
			if d := m.Nodes[dep]; d != nil && d.IsStreamSource() {
				streams = append(streams, fmt.Sprintf("source('%s', '%s')", d.Source.SourceName, d.Source.TableName))
			}
		}
		switch {
		case len(streams) == 0:
			c.errorf(n.Pos, "stream model %s reads no stream source — select from a source declared with stream: (path: or kafka:), or materialize it as a table", n.Name)
		case len(streams) > 1:
			c.errorf(n.Pos, "stream model %s reads %d stream sources (%s) — a stream model reads one; union them in one source's landing folder or split the model",
				n.Name, len(streams), strings.Join(streams, ", "))
		}
		cfg := n.Config
		if cfg.Watermark != "" && cfg.EventTime == "" {
			c.errorf(n.Pos, "stream model %s has a watermark but no event_time — set event_time to the output column holding each window's start (e.g. event_time='window_start')", n.Name)
		}
		if cfg.Watermark != "" && len(cfg.UniqueKey) == 0 {
			c.errorf(n.Pos, "stream model %s has a watermark but no unique_key — set unique_key to the columns naming a window (e.g. ['user_id', 'window_start']) so recomputed windows replace their old rows", n.Name)
		}
		if cfg.Watermark != "" && cfg.EventTime != "" && len(cfg.UniqueKey) > 0 && !containsFold(cfg.UniqueKey, cfg.EventTime) {
			c.errorf(n.Pos, "stream model %s has a watermark but its unique_key %v leaves out its window column %s — a window's rows are keyed by it; add %s to unique_key",
				n.Name, cfg.UniqueKey, cfg.EventTime, cfg.EventTime)
		}
		if cfg.IncrementalStrategy != "" {
			c.errorf(n.Pos, "stream model %s sets incremental_strategy — stream models upsert by unique_key (or append without one); remove incremental_strategy", n.Name)
		}
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
