package state

// snapshotTables hold CDC tombstones of merge models and snapshot bookkeeping.
var snapshotTables = []string{}
