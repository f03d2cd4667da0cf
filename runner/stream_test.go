package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// streamFixture adds a landing-folder stream source and a windowed stream
// model over it.
func (f *fixture) streamFixture() *manifest.Node {
	src := &manifest.Node{
		ID: manifest.SourceID("live", "buys"), ResourceType: manifest.Source, Name: "buys",
		Source: &manifest.SourceInfo{SourceName: "live", TableName: "buys", EventTime: "ts",
			Stream: &manifest.StreamInfo{Path: "landing/*.jsonl", Format: "json", Settle: "0s",
				Columns: [][2]string{{"u", "INTEGER"}, {"ts", "TIMESTAMP"}}}},
	}
	f.m.Nodes[src.ID] = src
	n := f.model("buys_5m", "stream",
		"select u, time_bucket(interval 5 minute, ts) as w, count(*) as n from "+manifest.StreamEventsToken+" group by all", src.ID)
	n.Config.EventTime, n.Config.UniqueKey, n.Config.Watermark = "w", []string{"u", "w"}, "1 hour"
	return n
}

// TestStreamCompactionKeepsRowsAndSortsByKey lands batches until the
// table is rewritten sorted by its lookup key, and checks that the rows are
// those of one query over all events, now in key order.
func TestStreamCompactionKeepsRowsAndSortsByKey(t *testing.T) {
	f := newFixture(t)
	n := f.streamFixture()
	defer func(v int64) { compactMinRows = v }(compactMinRows)
	compactMinRows = 20
	ctx := context.Background()
	if err := PrepareStreams(ctx, f.db); err != nil {
		t.Fatal(err)
	}
	sm, err := NewStreamModel(ctx, f.db, f.m, n.ID, StreamOptions{RunID: "r", ProjectDir: f.dir, TargetDir: filepath.Join(f.dir, "target")})
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	compactions := 0
	for b := 0; b < 4; b++ {
		var lines strings.Builder
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&lines, `{"u": %d, "ts": "2026-01-01 10:%02d:00"}`+"\n", (i*7+b)%10, b*10+i%10)
		}
		f.write(fmt.Sprintf("landing/%d.jsonl", b), lines.String())
		old := time.Now().Add(time.Duration(b-10) * time.Second)
		os.Chtimes(filepath.Join(f.dir, "landing", fmt.Sprintf("%d.jsonl", b)), old, old)
		st, ran, err := sm.Batch(ctx)
		if err != nil || !ran {
			t.Fatalf("batch %d: ran %v, %v", b, ran, err)
		}
		if st.Compacted {
			compactions++
		}
	}
	if compactions == 0 {
		t.Fatalf("no compaction: %d sorted, %d unsorted rows", sm.sortedRows, sm.unsorted)
	}
	want := f.query("select u, time_bucket(interval 5 minute, ts) as w, count(*) from read_json('landing/*.jsonl', columns={'u': 'INTEGER', 'ts': 'TIMESTAMP'}) group by all order by all")
	if got := f.query("select * from buys_5m order by all"); got != want {
		t.Fatalf("windows after compaction:\n%s\nwant:\n%s", got, want)
	}
	// The rows written sorted come first, in key order.
	if got := f.query(fmt.Sprintf("select count(*) from (select u, lag(u) over (order by rowid) as prev, rowid as r from buys_5m) where u < prev and r < %d", sm.sortedRows)); got != "0;" {
		t.Errorf("the compacted table is not in key order: %s rows follow a larger key", got)
	}
}
