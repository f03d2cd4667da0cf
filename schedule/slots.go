// Package schedule runs the jobs of project.yaml at their slots: it turns a
// job's cron expression and timezone into slots, decides which slots are
// due (catch-up in order, or only the latest), runs each through a function
// the caller hands it (cmd runs an elt command line in-process), retries a
// failed slot with backoff, records every run through a Store and sends the
// alerts (webhook, command hook) on failure, warn and recovery.
//
// The package knows nothing of the command line or of DuckDB: it never
// imports cmd or warehouse, and it tests without cgo.
package schedule

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/project"
)

// DefaultRetryDelay is the delay before the first retry of a failed slot
// when a job sets retries but no retry_delay; each further retry waits
// twice as long as the one before, up to MaxRetryDelay.
const DefaultRetryDelay = 30 * time.Second

// MaxRetryDelay caps the backoff between two attempts of a slot.
const MaxRetryDelay = 10 * time.Minute

// Job is a compiled entry of `jobs:`: its cron schedule resolved in its
// timezone and its command line split into arguments.
type Job struct {
	Name     string
	Schedule string         // the cron expression as written
	Location *time.Location // the timezone slots are computed in; UTC by default
	Command  string         // the command line as written
	Args     []string       // Command split like a shell would, without the program name
	// Start is the instant of start_date in Location, or zero when the job
	// has none. The first interval starts at the first slot on or after it.
	Start      time.Time
	Catchup    bool
	Retries    int
	RetryDelay time.Duration
	Vars       map[string]any
	Pos        diag.Pos

	spec *cron.SpecSchedule // evaluated on wall-clock times, in UTC
}

// Slot is one run of a job: the interval from the previous slot (Start)
// to this one (End). End is the instant the slot is due; it identifies the
// slot. Both are in the job's Location.
type Slot struct {
	Start, End time.Time
}

// RunDate is the classic RUN_DATE of the slot: the date of its interval
// start in the job's timezone, as "2006-01-02".
func (s Slot) RunDate() string { return s.Start.Format("2006-01-02") }

// Vars returns the variables of a run of slot s: the job's own vars with
// interval_start, interval_end (RFC 3339 with the job's UTC offset) and
// run_date set over them.
func (j *Job) SlotVars(s Slot) map[string]any {
	out := make(map[string]any, len(j.Vars)+3)
	for k, v := range j.Vars {
		out[k] = v
	}
	out["interval_start"] = s.Start.Format(time.RFC3339)
	out["interval_end"] = s.End.Format(time.RFC3339)
	out["run_date"] = s.RunDate()
	return out
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Compile checks every job of p and compiles it; the jobs are sorted by
// name. Every problem is reported at the job's position in project.yaml.
func Compile(jobs map[string]*project.Job) ([]*Job, diag.List) {
	names := make([]string, 0, len(jobs))
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*Job
	var diags diag.List
	for _, n := range names {
		j, err := CompileJob(jobs[n])
		if err != nil {
			diags = append(diags, diag.Errorf(jobs[n].Pos, "%v", err))
			continue
		}
		out = append(out, j)
	}
	return out, diags
}

// CompileJob compiles one job. Its error is a sentence naming the job and
// saying how to fix the problem.
func CompileJob(pj *project.Job) (*Job, error) {
	j := &Job{
		Name: pj.Name, Schedule: pj.Schedule, Command: pj.Command, Catchup: pj.Catchup,
		Retries: pj.Retries, Vars: pj.Vars, Pos: pj.Pos, Location: time.UTC,
		RetryDelay: DefaultRetryDelay,
	}
	if pj.RetryDelay != "" {
		d, err := parseDelay(pj.RetryDelay)
		if err != nil {
			return nil, fmt.Errorf("job %q: retry_delay %q is not a duration — write it like 30s, 5m or 1h", pj.Name, pj.RetryDelay)
		}
		j.RetryDelay = d
	}
	if pj.Timezone != "" {
		loc, err := time.LoadLocation(pj.Timezone)
		if err != nil || strings.EqualFold(pj.Timezone, "local") {
			return nil, fmt.Errorf("job %q: unknown timezone %q — use an IANA name such as Europe/Paris or UTC", pj.Name, pj.Timezone)
		}
		j.Location = loc
	}
	expr := strings.TrimSpace(pj.Schedule)
	if strings.HasPrefix(expr, "@every") {
		return nil, fmt.Errorf("job %q: schedule %q is a fixed delay, not a calendar — write a cron expression such as \"0 * * * *\"", pj.Name, pj.Schedule)
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("job %q: schedule %q sets a timezone — use the job's timezone: key instead", pj.Name, pj.Schedule)
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("job %q: schedule %q is not a cron expression (%v) — write five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"", pj.Name, pj.Schedule, err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("job %q: schedule %q is not a calendar schedule — write a cron expression", pj.Name, pj.Schedule)
	}
	spec.Location = time.UTC
	j.spec = spec
	if spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("job %q: schedule %q never fires — check its day and month fields", pj.Name, pj.Schedule)
	}
	args, err := SplitCommand(pj.Command)
	if err != nil {
		return nil, fmt.Errorf("job %q: command %q: %v", pj.Name, pj.Command, err)
	}
	if len(args) > 0 && args[0] == "elt" {
		args = args[1:]
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("job %q: command is empty — give an elt command line such as \"build -s tag:daily\"", pj.Name)
	}
	if args[0] == "schedule" {
		return nil, fmt.Errorf("job %q: command %q would start a scheduler from the scheduler — give the command to run, such as \"build -s tag:daily\"", pj.Name, pj.Command)
	}
	j.Args = args
	if pj.StartDate != "" {
		t, err := parseTime(pj.StartDate, j.Location)
		if err != nil {
			return nil, fmt.Errorf("job %q: start_date %q is not a date — write it like 2025-01-01 or 2025-01-01T02:00:00", pj.Name, pj.StartDate)
		}
		j.Start = t
	}
	return j, nil
}

// parseDelay reads a retry delay: a Go duration ("90s", "5m") or a number
// of seconds.
func parseDelay(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	return 0, fmt.Errorf("bad duration %q", s)
}

// ParseTime reads a time as given to start_date or --now: a date
// ("2025-01-01", midnight), a date and time without offset (read in loc),
// or RFC 3339 with an offset.
func ParseTime(s string, loc *time.Location) (time.Time, error) { return parseTime(s, loc) }

func parseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return resolveWall(t, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// Next returns the first slot instant strictly after t, or the zero time
// when the schedule never fires again.
//
// The cron expression is matched against wall-clock times in the job's
// timezone, so a daily "0 2 * * *" fires once every calendar day across
// daylight-saving changes: a wall time skipped by a spring-forward fires
// at the first instant after the gap, and a wall time repeated by a
// fall-back fires once, at its first occurrence.
func (j *Job) Next(t time.Time) time.Time {
	w := wall(t, j.Location)
	for i := 0; i < 1000; i++ {
		w = j.spec.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		if inst := resolveWall(w, j.Location); inst.After(t) {
			return inst
		}
	}
	return time.Time{}
}

// Prev returns the last slot instant at or before t, or the zero time when
// there is none within five years.
func (j *Job) Prev(t time.Time) time.Time {
	for _, back := range []time.Duration{time.Hour, 25 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 5 * 366 * 24 * time.Hour} {
		var last time.Time
		for s := j.Next(t.Add(-back)); !s.IsZero() && !s.After(t); s = j.Next(s) {
			last = s
		}
		if !last.IsZero() {
			return last
		}
	}
	return time.Time{}
}

// First returns the job's first slot: the one whose interval starts at the
// first slot instant on or after Start. It is the zero Slot when the job
// has no start_date.
func (j *Job) First() Slot {
	if j.Start.IsZero() {
		return Slot{}
	}
	s0 := j.Next(j.Start.Add(-time.Second))
	return Slot{Start: s0, End: j.Next(s0)}.in(j.Location)
}

// SlotEnding returns the slot that ends at end, which must be a slot
// instant of the job.
func (j *Job) SlotEnding(end time.Time) Slot {
	return Slot{Start: j.Prev(end.Add(-time.Second)), End: end}.in(j.Location)
}

// After returns the slot following s.
func (j *Job) After(s Slot) Slot {
	return Slot{Start: s.End, End: j.Next(s.End)}.in(j.Location)
}

func (s Slot) in(loc *time.Location) Slot {
	return Slot{Start: s.Start.In(loc), End: s.End.In(loc)}
}

// wall returns t's wall-clock reading in loc as a UTC time.
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// resolveWall returns the instant whose wall-clock reading in loc is w (a
// UTC time holding wall-clock fields): the earliest one when the reading
// occurs twice (fall-back), and the first instant after the gap when it
// does not occur (spring-forward).
func resolveWall(w time.Time, loc *time.Location) time.Time {
	offsets := map[int]bool{}
	for _, d := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := w.Add(d).In(loc).Zone()
		offsets[off] = true
	}
	var best time.Time
	minOff, maxOff := 1<<31-1, -1<<31
	for off := range offsets {
		minOff, maxOff = min(minOff, off), max(maxOff, off)
		inst := w.Add(-time.Duration(off) * time.Second)
		if wall(inst, loc).Equal(w) && (best.IsZero() || inst.Before(best)) {
			best = inst
		}
	}
	if !best.IsZero() {
		return best.In(loc)
	}
	// A gap: search the first instant whose wall reading is past w.
	lo := w.Add(-time.Duration(maxOff) * time.Second) // reads before w
	hi := w.Add(-time.Duration(minOff) * time.Second) // reads after w
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if mid.Equal(lo) {
			break
		}
		if wall(mid, loc).Before(w) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.In(loc)
}

// SplitCommand splits a command line into words as a POSIX shell would
// for plain words, 'single' and "double" quotes and backslash escapes; it
// expands nothing.
func SplitCommand(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote — close it", quote)
	}
	if escaped {
		return nil, fmt.Errorf("ends with a backslash — remove it")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
