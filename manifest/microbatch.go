package manifest

// BatchStartToken and BatchEndToken stand, in the compiled SQL of a
// microbatch model, for the bounds of the batch being built: each ref() or
// source() of a node that declares event_time renders as a subquery
// keeping the rows with TIMESTAMP 'BatchStartToken' <= event_time <
// TIMESTAMP 'BatchEndToken'. The runner substitutes them per interval
// ("YYYY-MM-DD HH:MM:SS"), so a batch reads only its interval and the
// compiler is not needed at run time.
const (
	BatchStartToken = "__ELT_BATCH_START__"
	BatchEndToken   = "__ELT_BATCH_END__"
)

// IsMicrobatch reports whether n is an incremental model with the
// microbatch strategy.
func (n *Node) IsMicrobatch() bool {
	return n.ResourceType == Model && n.Config.Materialized == "incremental" && n.Config.IncrementalStrategy == "microbatch"
}

// EventTimeOf returns the event_time a node declares (a model's config, a
// source table's event_time), or "".
func (n *Node) EventTimeOf() string {
	if n.Config.EventTime != "" {
		return n.Config.EventTime
	}
	if n.Source != nil {
		return n.Source.EventTime
	}
	return ""
}
