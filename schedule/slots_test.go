package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/project"
)

func mustJob(t *testing.T, pj project.Job) *Job {
	t.Helper()
	if pj.Name == "" {
		pj.Name = "j"
	}
	if pj.Command == "" {
		pj.Command = "build"
	}
	j, err := CompileJob(&pj)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestNextSlots walks slots from a start instant across daylight-saving
// changes and month ends: every expected instant is RFC 3339 in the job's
// timezone.
func TestNextSlots(t *testing.T) {
	tests := []struct {
		name, schedule, tz, from string
		want                     []string
	}{
		{
			name: "daily across spring-forward (02:00 does not exist on 30 March)", schedule: "0 2 * * *", tz: "Europe/Paris",
			from: "2025-03-28T12:00:00+01:00",
			want: []string{"2025-03-29T02:00:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"},
		},
		{
			name: "daily across fall-back (02:00 happens twice on 26 October)", schedule: "0 2 * * *", tz: "Europe/Paris",
			from: "2025-10-24T12:00:00+02:00",
			want: []string{"2025-10-25T02:00:00+02:00", "2025-10-26T02:00:00+02:00", "2025-10-27T02:00:00+01:00"},
		},
		{
			name: "half past the hour across New York fall-back: 01:30 fires once", schedule: "30 * * * *", tz: "America/New_York",
			from: "2025-11-02T00:00:00-04:00",
			want: []string{"2025-11-02T00:30:00-04:00", "2025-11-02T01:30:00-04:00", "2025-11-02T02:30:00-05:00", "2025-11-02T03:30:00-05:00"},
		},
		{
			name: "hourly across Paris spring-forward: the skipped hour merges into the next", schedule: "0 * * * *", tz: "Europe/Paris",
			from: "2025-03-30T00:30:00+01:00",
			want: []string{"2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"},
		},
		{
			name: "day 31 skips short months", schedule: "0 0 31 * *", tz: "",
			from: "2025-01-15T00:00:00Z",
			want: []string{"2025-01-31T00:00:00Z", "2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z"},
		},
		{
			name: "monthly on the first", schedule: "@monthly", tz: "UTC",
			from: "2024-11-20T00:00:00Z",
			want: []string{"2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"},
		},
		{
			name: "29 February only in leap years", schedule: "0 6 29 2 *", tz: "UTC",
			from: "2024-03-01T00:00:00Z",
			want: []string{"2028-02-29T06:00:00Z", "2032-02-29T06:00:00Z"},
		},
		{
			name: "last days of February in a leap year, daily", schedule: "0 0 * * *", tz: "UTC",
			from: "2024-02-27T12:00:00Z",
			want: []string{"2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		},
		{
			name: "weekdays only", schedule: "0 9 * * 1-5", tz: "Asia/Tokyo",
			from: "2025-01-03T10:00:00+09:00",
			want: []string{"2025-01-06T09:00:00+09:00", "2025-01-07T09:00:00+09:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustJob(t, project.Job{Schedule: tt.schedule, Timezone: tt.tz})
			at, err := time.Parse(time.RFC3339, tt.from)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for range tt.want {
				at = j.Next(at)
				got = append(got, at.In(j.Location).Format(time.RFC3339))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("slots\n got %v\nwant %v", got, tt.want)
			}
			// Prev is the inverse of Next on slot instants.
			for i := 1; i < len(got); i++ {
				end, _ := time.Parse(time.RFC3339, got[i])
				if p := j.Prev(end.Add(-time.Second)).In(j.Location).Format(time.RFC3339); p != got[i-1] {
					t.Errorf("Prev(%s) = %s, want %s", got[i], p, got[i-1])
				}
			}
		})
	}
}

// TestSlotVars checks interval_start, interval_end and run_date of the
// slots around a DST change: run_date advances one calendar day per slot.
func TestSlotVars(t *testing.T) {
	j := mustJob(t, project.Job{Schedule: "0 2 * * *", Timezone: "Europe/Paris", StartDate: "2025-03-28",
		Vars: map[string]any{"run_date": "overridden", "region": "eu"}})
	s := j.First()
	var dates []string
	for i := 0; i < 4; i++ {
		v := j.SlotVars(s)
		if v["region"] != "eu" {
			t.Errorf("job var lost: %v", v)
		}
		if v["interval_end"] != s.End.Format(time.RFC3339) || v["interval_start"] != s.Start.Format(time.RFC3339) {
			t.Errorf("interval vars %v", v)
		}
		dates = append(dates, v["run_date"].(string)+"@"+v["interval_start"].(string))
		s = j.After(s)
	}
	want := []string{
		"2025-03-28@2025-03-28T02:00:00+01:00",
		"2025-03-29@2025-03-29T02:00:00+01:00",
		"2025-03-30@2025-03-30T03:00:00+02:00",
		"2025-03-31@2025-03-31T02:00:00+02:00",
	}
	if strings.Join(dates, " ") != strings.Join(want, " ") {
		t.Errorf("run dates\n got %v\nwant %v", dates, want)
	}
	if got := j.SlotEnding(s.End); got != s {
		t.Errorf("SlotEnding(%v) = %v, want %v", s.End, got, s)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		job  project.Job
		want string
	}{
		{project.Job{Schedule: "0 2 * *", Command: "build"}, "is not a cron expression"},
		{project.Job{Schedule: "@every 1h", Command: "build"}, "fixed delay"},
		{project.Job{Schedule: "0 2 * * *", Timezone: "Mars/Olympus", Command: "build"}, "unknown timezone"},
		{project.Job{Schedule: "0 2 * * *", Command: "schedule --once"}, "scheduler from the scheduler"},
		{project.Job{Schedule: "0 2 * * *", Command: "build -s 'tag:daily"}, "unclosed ' quote"},
		{project.Job{Schedule: "0 2 * * *", Command: "build", StartDate: "yesterday"}, "start_date"},
		{project.Job{Schedule: "0 2 * * *", Command: "build", RetryDelay: "soon"}, "retry_delay"},
		{project.Job{Schedule: "0 0 30 2 *", Command: "build"}, "never fires"},
	}
	for _, tt := range tests {
		tt.job.Name = "daily"
		_, err := CompileJob(&tt.job)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `job "daily"`) {
			t.Errorf("%+v: error %v, want it to contain %q", tt.job, err, tt.want)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	got, err := SplitCommand(`elt build -s "tag:daily stg_x" --vars '{a: 1}' x\ y`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"elt", "build", "-s", "tag:daily stg_x", "--vars", "{a: 1}", "x y"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	j := mustJob(t, project.Job{Schedule: "@daily", Command: "elt run -s a", RetryDelay: "90"})
	if strings.Join(j.Args, " ") != "run -s a" || j.RetryDelay != 90*time.Second {
		t.Errorf("args %q delay %v", j.Args, j.RetryDelay)
	}
}
