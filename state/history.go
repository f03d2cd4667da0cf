package state

// historyTables hold scheduled job slots and run history beyond invocations.
var historyTables = []string{}
