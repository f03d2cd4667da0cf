package state

// qualityTables hold column profiles, stored test failures and quarantine bookkeeping.
var qualityTables = []string{}
