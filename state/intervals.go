package state

// intervalTables hold the interval ledger of incremental and microbatch models.
var intervalTables = []string{}
