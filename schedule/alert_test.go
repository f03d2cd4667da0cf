package schedule

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/state"
)

// hookServer is a real HTTP server on 127.0.0.1 that records the bodies
// POSTed to it; its first failFirst answers are 503.
type hookServer struct {
	URL       string
	mu        sync.Mutex
	bodies    [][]byte
	failFirst int
	delay     time.Duration
}

func newHookServer(t *testing.T) *hookServer {
	t.Helper()
	h := &hookServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		fail := len(h.bodies) <= h.failFirst
		delay := h.delay
		h.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		if fail {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h.URL = "http://" + ln.Addr().String() + "/hook"
	return h
}

func (h *hookServer) received() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

func failurePayload(t *testing.T) Payload {
	j := mustJob(t, project.Job{Name: "daily", Schedule: "0 2 * * *", Timezone: "Europe/Paris", Command: "build -s tag:daily"})
	slot := j.SlotEnding(at("2025-03-31T00:00:00Z"))
	started := at("2025-03-31T00:00:05Z")
	out := Outcome{Status: state.Error, Started: started, Completed: started.Add(1500 * time.Millisecond), NodesTotal: 5,
		Failed: []FailedNode{{Node: "model.fct_user_daily", Status: "error", Message: "Binder Error: column x", Duration: 250 * time.Millisecond}},
		Error:  "Binder Error: column x"}
	rec := Record(j, slot, j.SlotVars(slot), 3, "run-1", out)
	return NewPayload("failure", "churn", "run-1", rec, out)
}

// TestWebhookPayload posts a failure to a real server on 127.0.0.1 that
// answers 503 once: the alert is retried and the JSON has every field.
func TestWebhookPayload(t *testing.T) {
	srv := newHookServer(t)
	srv.failFirst = 1
	n := &Notifier{Alerts: []*project.Alert{
		{On: []string{"failure", "recovery"}, Webhook: srv.URL},
		{On: []string{"recovery"}, Webhook: srv.URL + "/never"},
	}, Backoff: 10 * time.Millisecond}
	if errs := n.Notify(context.Background(), failurePayload(t)); len(errs) != 0 {
		t.Fatal(errs)
	}
	bodies := srv.received()
	if len(bodies) != 2 || string(bodies[0]) != string(bodies[1]) {
		t.Fatalf("server got %d bodies, want the same one twice (503, then retried)", len(bodies))
	}
	var got map[string]any
	if err := json.Unmarshal(bodies[1], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"event": "failure", "project": "churn", "job": "daily",
		"slot": "2025-03-31T02:00:00+02:00", "interval_start": "2025-03-30T03:00:00+02:00", "interval_end": "2025-03-31T02:00:00+02:00",
		"run_date": "2025-03-30", "run_id": "run-1", "trigger": "schedule", "command": "build -s tag:daily",
		"status": "error", "attempts": 3.0, "started_at": "2025-03-31T00:00:05Z", "completed_at": "2025-03-31T00:00:06.5Z",
		"duration_s": 1.5, "nodes_total": 5.0, "error": "Binder Error: column x",
		"failed_nodes": []any{map[string]any{"node": "model.fct_user_daily", "status": "error", "message": "Binder Error: column x", "duration_s": 0.25}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload\n got %v\nwant %v", got, want)
	}
}

// TestWebhookNeverBlocks gives up within the budget on a server that does
// not answer, and reports a 4xx answer at once without retrying.
func TestWebhookNeverBlocks(t *testing.T) {
	slow := newHookServer(t)
	slow.delay = time.Minute
	bad := newHookServer(t)
	var warned []string
	var mu sync.Mutex
	n := &Notifier{Alerts: []*project.Alert{
		{On: []string{"failure"}, Webhook: slow.URL},
		{On: []string{"failure"}, Webhook: strings.Replace(bad.URL, "/hook", "/", 1) + "x\x00"}, // an invalid URL
	}, Timeout: 200 * time.Millisecond, Budget: 700 * time.Millisecond, Backoff: 10 * time.Millisecond,
		Warn: func(err error) { mu.Lock(); warned = append(warned, err.Error()); mu.Unlock() }}
	start := time.Now()
	errs := n.Notify(context.Background(), failurePayload(t))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Notify took %v, want it bounded by its budget", d)
	}
	if len(errs) != 2 || len(warned) != 2 {
		t.Errorf("errors %v, warnings %v", errs, warned)
	}
	if n := len(slow.received()); n < 2 {
		t.Errorf("slow server got %d attempts, want retries", n)
	}
}

// TestCommandHook runs a command alert with the payload on stdin.
func TestCommandHook(t *testing.T) {
	dir := t.TempDir()
	n := &Notifier{Dir: dir, Alerts: []*project.Alert{
		{On: []string{"failure"}, Command: `cat > payload.json; echo "$ELT_ALERT_EVENT $ELT_JOB $ELT_STATUS" > env.txt`},
		{On: []string{"failure"}, Command: "echo nope >&2; exit 3"},
	}}
	errs := n.Notify(context.Background(), failurePayload(t))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "exit status 3: nope") {
		t.Errorf("errors %v, want the failing hook's status and stderr", errs)
	}
	body, err := os.ReadFile(filepath.Join(dir, "payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil || p.RunID != "run-1" || len(p.FailedNodes) != 1 {
		t.Errorf("payload on stdin %s (%v)", body, err)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env.txt"))
	if strings.TrimSpace(string(env)) != "failure daily error" {
		t.Errorf("env %q", env)
	}
}

func TestAlertEvents(t *testing.T) {
	for _, tc := range []struct {
		status, prev string
		want         []string
	}{
		{state.Error, state.Error, []string{"failure"}},
		{state.Success, state.Error, []string{"recovery"}},
		{state.Warn, state.Error, []string{"warn", "recovery"}},
		{state.Warn, state.Success, []string{"warn"}},
		{state.Success, "", nil},
		{state.Cancelled, state.Error, nil},
	} {
		if got := AlertEvents(tc.status, tc.prev); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AlertEvents(%s, %s) = %v, want %v", tc.status, tc.prev, got, tc.want)
		}
	}
}
