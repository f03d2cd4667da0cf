package stream

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// landingDir is a landing folder with a clock the test moves.
type landingDir struct {
	t   *testing.T
	dir string
	now time.Time
}

func newLandingDir(t *testing.T) *landingDir {
	return &landingDir{t: t, dir: t.TempDir(), now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
}

// write writes name with content and the given age relative to the clock.
func (d *landingDir) write(name, content string, age time.Duration) {
	d.t.Helper()
	p := filepath.Join(d.dir, "landing", name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		d.t.Fatal(err)
	}
	mt := d.now.Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		d.t.Fatal(err)
	}
}

func (d *landingDir) reader(committed []Position) Reader {
	d.t.Helper()
	r, err := NewLanding(LandingConfig{ProjectDir: d.dir, Glob: "landing/**/*.jsonl", Format: "json",
		Settle: time.Second, MaxFiles: 3, Now: func() time.Time { return d.now }}, committed)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}

func keys(b *Batch) []string {
	var out []string
	for _, p := range b.Positions {
		out = append(out, p.Key)
	}
	return out
}

func next(t *testing.T, r Reader) *Batch {
	t.Helper()
	b, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLandingReadsEachCompleteFileOnceInArrivalOrder(t *testing.T) {
	d := newLandingDir(t)
	d.write("b.jsonl", "{\"x\":1}\n", 5*time.Second)
	d.write("a.jsonl", "{\"x\":2}\n", 3*time.Second)                 // newer than b: after it
	d.write("sub/c.jsonl", "{\"x\":3}\n{\"x\":4}\n", 10*time.Second) // oldest, in a subfolder
	d.write("fresh.jsonl", "{\"x\":5}\n", 100*time.Millisecond)      // not settled yet
	d.write("partial.jsonl", "{\"x\":6}\n{\"x\"", 5*time.Second)     // last line unterminated
	d.write("empty.jsonl", "", 5*time.Second)                        // nothing to read yet
	d.write(".hidden.jsonl", "{\"x\":7}\n", 5*time.Second)           // being written by convention
	d.write("d.jsonl.tmp", "{\"x\":8}\n", 5*time.Second)             // not matched by the glob
	r := d.reader(nil)

	b := next(t, r)
	if got, want := keys(b), []string{"landing/sub/c.jsonl", "landing/b.jsonl", "landing/a.jsonl"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("first batch = %v, want %v", got, want)
	}
	if b.Positions[0].Offset != int64(len("{\"x\":3}\n{\"x\":4}\n")) || b.Format != "json" || b.Events != -1 {
		t.Errorf("batch = %+v", b)
	}
	if want := d.now.Add(-10 * time.Second); !b.Oldest.Equal(want) {
		t.Errorf("oldest = %v, want %v", b.Oldest, want)
	}
	if b.Files[0] != filepath.Join(d.dir, "landing", "sub", "c.jsonl") {
		t.Errorf("files = %v", b.Files)
	}
	// Handed out but not committed: not handed out again.
	if b2 := next(t, r); !b2.Empty() {
		t.Fatalf("second batch before commit = %v", keys(b2))
	}
	r.Commit(b)

	// Time passes: the fresh file settles, the partial one gets its end.
	d.now = d.now.Add(2 * time.Second)
	d.write("partial.jsonl", "{\"x\":6}\n{\"x\":9}\n", 0)
	b = next(t, r)
	if got, want := keys(b), []string{"landing/fresh.jsonl"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after settling = %v, want %v", got, want)
	}
	r.Commit(b)
	d.now = d.now.Add(2 * time.Second)
	b = next(t, r)
	if got, want := keys(b), []string{"landing/partial.jsonl"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the partial file was finished = %v, want %v", got, want)
	}
	r.Commit(b)
	if b = next(t, r); !b.Empty() {
		t.Fatalf("nothing new, got %v", keys(b))
	}
}

func TestLandingAbortHandsOutAgain(t *testing.T) {
	d := newLandingDir(t)
	d.write("a.jsonl", "{}\n", 5*time.Second)
	r := d.reader(nil)
	b := next(t, r)
	r.Abort(b)
	if got := keys(next(t, r)); !reflect.DeepEqual(got, []string{"landing/a.jsonl"}) {
		t.Fatalf("after abort = %v", got)
	}
}

func TestLandingRestartsFromCommittedPositions(t *testing.T) {
	d := newLandingDir(t)
	d.write("a.jsonl", "{}\n", 5*time.Second)
	d.write("b.jsonl", "{}\n", 4*time.Second)
	r := d.reader([]Position{{Key: "landing/a.jsonl", Offset: 3}, {Key: "kafka:t/0", Offset: 9}})
	if got := keys(next(t, r)); !reflect.DeepEqual(got, []string{"landing/b.jsonl"}) {
		t.Fatalf("restart = %v", got)
	}
}

func TestLandingMaxFiles(t *testing.T) {
	d := newLandingDir(t)
	for _, n := range []string{"1", "2", "3", "4", "5"} {
		d.write(n+".jsonl", "{}\n", 10*time.Second)
	}
	r := d.reader(nil)
	b := next(t, r)
	if len(b.Files) != 3 {
		t.Fatalf("first batch has %d files, want 3", len(b.Files))
	}
	r.Commit(b)
	if got := keys(next(t, r)); !reflect.DeepEqual(got, []string{"landing/4.jsonl", "landing/5.jsonl"}) {
		t.Fatalf("second batch = %v", got)
	}
}

func TestLandingGrowingFileWithOldMtimeWaits(t *testing.T) {
	d := newLandingDir(t)
	d.write("a.jsonl", "{}\n", 0)
	r := d.reader(nil)
	if b := next(t, r); !b.Empty() {
		t.Fatal("an unsettled file was read")
	}
	// The file grows, but its copy keeps an old modification time.
	d.write("a.jsonl", "{}\n{}\n", time.Hour)
	if b := next(t, r); !b.Empty() {
		t.Fatal("a file that changed since the last look was read")
	}
	if got := keys(next(t, r)); !reflect.DeepEqual(got, []string{"landing/a.jsonl"}) {
		t.Fatalf("once unchanged = %v", got)
	}
}

func TestLandingUnterminatedFileIsReadAfterGrace(t *testing.T) {
	d := newLandingDir(t)
	d.write("a.jsonl", "{\"x\":1}", 2*time.Minute) // writer gone, no final newline
	r := d.reader(nil)
	if got := keys(next(t, r)); !reflect.DeepEqual(got, []string{"landing/a.jsonl"}) {
		t.Fatalf("old unterminated file = %v", got)
	}
}

func TestLandingBadGlob(t *testing.T) {
	if _, err := NewLanding(LandingConfig{ProjectDir: t.TempDir(), Glob: "landing/[.jsonl", Format: "json"}, nil); err == nil {
		t.Fatal("a bad glob was accepted")
	}
}

func TestLandingRefusesGlobCharacters(t *testing.T) {
	d := newLandingDir(t)
	d.write("a?.jsonl", "{}\n", 5*time.Second)
	r := d.reader(nil)
	if _, err := r.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "landing/a?.jsonl has a glob character") {
		t.Fatalf("err = %v", err)
	}
}

func TestLandingChangedFileAfterReadIsAnError(t *testing.T) {
	d := newLandingDir(t)
	d.write("a.jsonl", "{}\n", 5*time.Second)
	r := d.reader(nil)
	b := next(t, r)
	r.Commit(b)
	d.write("a.jsonl", "{}\n{}\n", 5*time.Second) // appended to after it was read
	d.now = d.now.Add(time.Minute)
	if _, err := r.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "landing/a.jsonl changed after it was read (3 bytes then, 6 now)") {
		t.Fatalf("err = %v", err)
	}
	// A restarted reader knows the size from the committed positions.
	r = d.reader([]Position{{Key: "landing/a.jsonl", Offset: 3}})
	if _, err := r.Next(context.Background()); err == nil {
		t.Fatal("a changed file was not reported after a restart")
	}
}
