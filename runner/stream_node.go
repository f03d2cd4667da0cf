package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// maxCatchUpBatches bounds the micro-batches one `elt run` of a stream
// model runs; what is left waits for the next run or `elt stream`.
const maxCatchUpBatches = 10000

// executeStream catches a stream model up within a run: it runs
// micro-batches until nothing new has arrived, each committing its own
// output and positions, then records the node's result.
func (r *run) executeStream(ctx context.Context, n *manifest.Node, nr NodeResult) NodeResult {
	done := func(msg string) NodeResult {
		nr.Completed = time.Now()
		nr.Duration = nr.Completed.Sub(nr.Started)
		nr.Message = msg
		return nr
	}
	sm, err := NewStreamModel(ctx, r.db, r.m, n.ID, StreamOptions{
		RunID: r.opts.InvocationID, ProjectDir: r.opts.ProjectDir, TargetDir: r.opts.TargetDir, FullRefresh: r.opts.FullRefresh,
	})
	if err != nil {
		return done(posPrefix(n.Pos) + err.Error())
	}
	defer sm.Close()
	var total BatchStats
	batches := 0
	for batches < maxCatchUpBatches {
		st, ran, err := sm.Batch(ctx)
		if err != nil {
			return done(r.errorMessage(ctx, n, "", err))
		}
		if !ran {
			break
		}
		batches++
		total.Events += st.Events
		total.Quarantined += st.Quarantined
		total.Late += st.Late
		total.Files += st.Files
	}
	nr.Relation = warehouse.Relation(schemaOf(n), nameOf(n))
	c, err := r.db.Conn(ctx)
	if err != nil {
		return done(r.errorMessage(ctx, n, "", err))
	}
	defer c.Close()
	exists := sm.exists
	if err := r.recordSuccess(ctx, c, n, &nr, exists); err != nil {
		return done(r.errorMessage(ctx, n, "", err))
	}
	nr.Status = StatusSuccess
	nr.RowsRead, nr.RowsQuarantined = total.Events, total.Quarantined
	msg := ""
	switch {
	case !exists:
		msg = "no events yet — the first batch creates the table (declare the source's columns with data_type to create it empty)"
	case batches > 0:
		msg = fmt.Sprintf("%d %s, %d events", batches, plural(batches, "batch", "batches"), total.Events)
		if total.Quarantined > 0 {
			msg += fmt.Sprintf(", %d quarantined (%d late)", total.Quarantined, total.Late)
		}
	}
	if batches == maxCatchUpBatches {
		msg += fmt.Sprintf("; stopped after %d batches — the rest waits for the next run", maxCatchUpBatches)
	}
	return done(msg)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
