// Package stream reads the input of streaming micro-batches: new files in a
// landing folder, or new records of a Kafka topic. A Reader hands out one
// Batch at a time; the runner loads the batch's files into DuckDB, runs the
// stream model, and records the batch's Positions in elt_state in the same
// transaction as the model's output, so a crash at any point neither loses
// nor double-counts an event. Readers start from the positions committed in
// the database, never from their own bookkeeping.
//
// The package does not touch the database: it builds without cgo.
package stream

import (
	"context"
	"time"
)

// Position is how far a batch has read one unit of a stream source:
//   - a landed file: Key is its path relative to the project directory
//     (slash-separated), Offset its size in bytes when read;
//   - a Kafka partition: Key is "kafka:<topic>/<partition>", Offset the
//     next offset to read (the last record's offset + 1).
//
// Committed positions are stored per stream model in
// elt_state.stream_positions, one row per Key (Kafka rows are replaced as
// the offset advances).
type Position struct {
	Key    string
	Offset int64
}

// Batch is the input of one micro-batch.
type Batch struct {
	// Files are the files DuckDB reads for this batch, as absolute paths,
	// in arrival order: the landed files themselves, or for Kafka one
	// newline-delimited JSON file the reader wrote (one record value per
	// line). Empty when nothing new has arrived.
	Files []string
	// Format is the Files' format: "json" (newline-delimited), "csv" or
	// "parquet".
	Format string
	// Positions are what the batch's transaction records.
	Positions []Position
	// Events is the number of events in the batch when the reader knows it
	// (Kafka), else -1 (files: DuckDB counts them).
	Events int64
	// Oldest is when the oldest input of the batch arrived (a file's
	// modification time, a record's timestamp); zero when unknown. The
	// progress line shows now − Oldest as the lag.
	Oldest time.Time
}

// Empty reports whether the batch has no input.
func (b *Batch) Empty() bool { return b == nil || len(b.Files) == 0 }

// Reader hands out the batches of one stream source for one stream model.
// It is used by one goroutine at a time.
type Reader interface {
	// Next returns the input that arrived after the last batch handed out
	// (or, for the first call, after the committed positions the reader was
	// created with), bounded by the reader's batch limits. A batch with no
	// Files means nothing new has arrived.
	Next(ctx context.Context) (*Batch, error)
	// Commit tells the reader that b's transaction committed: b's input is
	// never handed out again, and any temporary file of b may be removed.
	Commit(b *Batch)
	// Abort tells the reader that b's transaction rolled back: the next
	// call to Next hands out the same input again (possibly with more).
	Abort(b *Batch)
	// Close releases the reader's resources (connections, temp files).
	Close() error
}
