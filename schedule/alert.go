package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/state"
)

// Payload is the JSON document an alert receives: POSTed to a webhook, or
// written to a command hook's standard input. Slot fields are empty for a
// manual run. Times are RFC 3339 in UTC, except the interval bounds, which
// keep the job's UTC offset.
type Payload struct {
	Event         string        `json:"event"` // failure, warn or recovery
	Project       string        `json:"project"`
	Job           string        `json:"job,omitempty"`
	Slot          string        `json:"slot,omitempty"` // the slot's instant: interval_end
	IntervalStart string        `json:"interval_start,omitempty"`
	IntervalEnd   string        `json:"interval_end,omitempty"`
	RunDate       string        `json:"run_date,omitempty"`
	RunID         string        `json:"run_id"`
	Trigger       string        `json:"trigger"` // manual or schedule
	Command       string        `json:"command"`
	Status        string        `json:"status"` // success, warn or error
	Attempts      int           `json:"attempts"`
	StartedAt     string        `json:"started_at"`
	CompletedAt   string        `json:"completed_at"`
	DurationS     float64       `json:"duration_s"`
	NodesTotal    int           `json:"nodes_total"`
	FailedNodes   []PayloadNode `json:"failed_nodes"`
	Error         string        `json:"error,omitempty"` // the first error
}

// PayloadNode is a failed (or warning) node in a Payload.
type PayloadNode struct {
	Node      string  `json:"node"`
	Status    string  `json:"status"`
	Message   string  `json:"message"`
	DurationS float64 `json:"duration_s"`
}

// NewPayload builds the payload of alert event ev for the run recorded by
// rec, whose outcome is out.
func NewPayload(ev, project, runID string, rec state.RunRecord, out Outcome) Payload {
	p := Payload{
		Event: ev, Project: project, Job: rec.Job, RunID: runID, Trigger: rec.Trigger, Command: rec.Command,
		Status: rec.Status, Attempts: max(rec.Attempt, 1),
		StartedAt: stamp(rec.Started), CompletedAt: stamp(rec.Completed),
		DurationS: rec.Completed.Sub(rec.Started).Seconds(), NodesTotal: rec.NodesTotal,
		FailedNodes: []PayloadNode{}, Error: rec.FirstError,
	}
	if !rec.SlotEnd.IsZero() {
		p.Slot = rec.SlotEnd.Format(time.RFC3339)
		p.IntervalEnd = p.Slot
		p.IntervalStart = rec.SlotStart.Format(time.RFC3339)
		p.RunDate = rec.SlotStart.Format("2006-01-02")
	}
	for _, f := range out.Failed {
		p.FailedNodes = append(p.FailedNodes, PayloadNode{Node: f.Node, Status: f.Status, Message: f.Message, DurationS: f.Duration.Seconds()})
	}
	return p
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Notifier delivers alerts. A webhook gets a JSON POST, retried with
// backoff on a network error or a 5xx answer; a command hook runs with the
// payload on standard input. Every delivery of one Notify runs at once and
// Notify returns within Budget, whatever the receivers do: an alert never
// holds a run up for long.
type Notifier struct {
	Alerts []*project.Alert
	// Dir is the working directory of command hooks (the project).
	Dir string
	// Timeout bounds one webhook request or command (default 5s).
	Timeout time.Duration
	// Attempts is how many times a webhook is tried (default 3).
	Attempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each further one (default 250ms).
	Backoff time.Duration
	// Budget bounds a whole Notify call (default 15s).
	Budget time.Duration
	// Client sends webhooks (a client without proxy when nil).
	Client *http.Client
	// Warn receives every delivery failure; nil drops them.
	Warn func(error)
	// Sent, when set, is called after each successful delivery with the
	// alert's target (URL or command), for logging.
	Sent func(event, target string)
}

func (n *Notifier) defaults() (timeout time.Duration, attempts int, backoff, budget time.Duration) {
	timeout, attempts, backoff, budget = 5*time.Second, 3, 250*time.Millisecond, 15*time.Second
	if n.Timeout > 0 {
		timeout = n.Timeout
	}
	if n.Attempts > 0 {
		attempts = n.Attempts
	}
	if n.Backoff > 0 {
		backoff = n.Backoff
	}
	if n.Budget > 0 {
		budget = n.Budget
	}
	return
}

// Notify sends p to every alert subscribed to p.Event and returns the
// delivery errors (also passed to Warn).
func (n *Notifier) Notify(ctx context.Context, p Payload) []error {
	body, err := json.Marshal(p)
	if err != nil {
		return []error{err}
	}
	_, _, _, budget := n.defaults()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, a := range n.Alerts {
		if !subscribed(a, p.Event) {
			continue
		}
		wg.Add(1)
		go func(a *project.Alert) {
			defer wg.Done()
			target := a.Webhook
			var err error
			if a.Webhook != "" {
				err = n.post(ctx, a.Webhook, body)
			} else {
				target = a.Command
				err = n.command(ctx, a.Command, p, body)
			}
			if err != nil {
				err = fmt.Errorf("%s alert (%s) to %s failed: %w", p.Event, a.Pos, target, err)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				if n.Warn != nil {
					n.Warn(err)
				}
				return
			}
			if n.Sent != nil {
				n.Sent(p.Event, target)
			}
		}(a)
	}
	wg.Wait()
	return errs
}

func subscribed(a *project.Alert, ev string) bool {
	for _, on := range a.On {
		if on == ev {
			return true
		}
	}
	return false
}

// post sends body to url, retrying network errors and 5xx answers.
func (n *Notifier) post(ctx context.Context, url string, body []byte) error {
	timeout, attempts, backoff, _ := n.defaults()
	client := n.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	var last error
	for i := 1; i <= attempts; i++ {
		last = n.postOnce(ctx, client, timeout, url, body)
		var perm permanentError
		if last == nil || errors.As(last, &perm) || i == attempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %v)", last, ctx.Err())
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return last
}

// permanentError is a webhook answer that retrying will not change (4xx).
type permanentError struct{ error }

func (n *Notifier) postOnce(ctx context.Context, client *http.Client, timeout time.Duration, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "elt")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return permanentError{fmt.Errorf("HTTP %s", resp.Status)}
}

// command runs a command hook through the shell with the payload on
// standard input and ELT_ALERT_EVENT, ELT_JOB, ELT_RUN_ID and ELT_STATUS
// in its environment.
func (n *Notifier) command(ctx context.Context, command string, p Payload, body []byte) error {
	timeout, _, _, _ := n.defaults()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var c *exec.Cmd
	if runtime.GOOS == "windows" {
		c = exec.CommandContext(ctx, "cmd", "/C", command)
	} else {
		c = exec.CommandContext(ctx, "/bin/sh", "-c", command)
	}
	c.Dir = n.Dir
	c.Stdin = bytes.NewReader(append(body, '\n'))
	c.Env = append(os.Environ(), "ELT_ALERT_EVENT="+p.Event, "ELT_JOB="+p.Job, "ELT_RUN_ID="+p.RunID, "ELT_STATUS="+p.Status)
	c.WaitDelay = time.Second
	out, err := c.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("timed out after %v", timeout)
		}
		msg := bytes.TrimSpace(out)
		if len(msg) > 200 {
			msg = msg[:200]
		}
		if len(msg) > 0 {
			return fmt.Errorf("%v: %s", err, msg)
		}
		return err
	}
	return nil
}
