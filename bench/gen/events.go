package gen

import (
	"fmt"
	"strings"
)

// EventsOptions describes synthetic purchase events like the example
// project's raw feed: Rows events over Days days from Start for Users users,
// with DuplicateShare of them re-ingested later under the same event_id
// (sometimes with a corrected amount) and LateShare arriving in a later
// day's partition.
type EventsOptions struct {
	Rows           int
	Days           int
	Users          int
	Start          string  // first day, YYYY-MM-DD; default 2025-01-01
	DuplicateShare float64 // default 0.02
	LateShare      float64 // default 0.01
	Format         string  // csv or parquet; default csv
}

// EventsSQL returns one DuckDB COPY statement that writes the events into
// dir (an absolute path), hive-partitioned by date=YYYY-MM-DD. The data is a
// pure function of the options: values come from hash(), never random().
func EventsSQL(dir string, o EventsOptions) string {
	if o.Start == "" {
		o.Start = "2025-01-01"
	}
	if o.DuplicateShare == 0 {
		o.DuplicateShare = 0.02
	}
	if o.LateShare == 0 {
		o.LateShare = 0.01
	}
	if o.Format == "" {
		o.Format = "csv"
	}
	format := "FORMAT csv, HEADER"
	if o.Format == "parquet" {
		format = "FORMAT parquet"
	}
	dupEvery := int(1 / o.DuplicateShare)
	lateEvery := int(1 / o.LateShare)
	return fmt.Sprintf(`COPY (
  with base as (
    select range as event_id,
           (hash(range, 'user') %% %[2]d) + 1 as user_id,
           timestamp '%[3]s' + to_microseconds(((hash(range, 'ts') %% (%[4]d::ubigint * 86400000000)))::bigint) as event_ts,
           ((hash(range, 'amt') %% 20000) / 100.0)::decimal(12,2) as amount
    from range(%[5]d)
  ), feed as (
    select event_id, user_id, event_ts, amount, event_ts + interval 5 minute as ingest_ts from base
    union all
    select event_id, user_id, event_ts,
           case when event_id %% 2 = 0 then amount + 1 else amount end,
           event_ts + interval 3 hour
    from base where event_id %% %[6]d = 0
  )
  select event_id, user_id, event_ts, amount, ingest_ts,
         strftime(case when event_id %% %[7]d = 1 then ingest_ts + interval 1 day else ingest_ts end, '%%Y-%%m-%%d') as date
  from feed
  order by date, event_id, ingest_ts
) TO '%[1]s' (%[8]s, PARTITION_BY (date), OVERWRITE_OR_IGNORE)`,
		strings.ReplaceAll(dir, "'", "''"), o.Users, o.Start, o.Days, o.Rows, dupEvery, lateEvery, format)
}
