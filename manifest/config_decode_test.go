package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		layers  [][2]any // key, value applied in order
		want    string   // JSON of the resulting Config
		wantErr string
	}{
		{name: "defaults", want: `{"enabled":true,"materialized":"view","schema":"main"}`},
		{name: "dash and plus keys", layers: [][2]any{{"+pre-hook", "select 1"}, {"materialized", nil}},
			want: `{"enabled":true,"materialized":"view","schema":"main","pre_hook":["select 1"]}`},
		{name: "later wins, tags and hooks accumulate, meta merges", layers: [][2]any{
			{"materialized", "table"}, {"tags", "a"}, {"meta", map[string]any{"owner": "x", "tier": int64(1)}},
			{"post_hook", []any{"h1"}}, {"materialized", "INCREMENTAL"}, {"tags", []any{"b", "a"}},
			{"meta", map[string]any{"owner": "y"}}, {"post_hook", "h2"}},
			want: `{"enabled":true,"materialized":"incremental","schema":"main","tags":["a","b"],"meta":{"owner":"y","tier":1},"post_hook":["h1","h2"]}`},
		{name: "kinds from YAML and Jinja", layers: [][2]any{
			{"unique_key", "id"}, {"lookback", int64(3)}, {"retries", 2}, {"max_quarantine_ratio", 0.5},
			{"full_refresh", false}, {"column_types", map[string]any{"id": "INTEGER"}}, {"batch_size", "Day"},
			{"quarantine", []any{map[string]any{"name": "neg", "condition": "x >= 0"}}},
			{"contract", map[string]any{"enforced": true}}, {"retry_delay", "2s"}, {"alias", 2025}},
			want: `{"enabled":true,"materialized":"view","schema":"main","alias":"2025","unique_key":["id"],"batch_size":"day","lookback":3,"full_refresh":false,"quarantine":[{"name":"neg","condition":"x \u003e= 0"}],"max_quarantine_ratio":0.5,"contract":{"enforced":true},"retries":2,"retry_delay":"2s","column_types":{"id":"INTEGER"}}`},
		{name: "unknown key", layers: [][2]any{{"materialised", "table"}}, wantErr: `unknown config key "materialised" — did you mean "materialized"?`},
		{name: "unknown key far from any", layers: [][2]any{{"zzzzzzzz", 1}}, wantErr: `unknown config key "zzzzzzzz" — allowed: alias, batch_size`},
		{name: "bad enum", layers: [][2]any{{"materialized", "tabel"}}, wantErr: `materialized "tabel" is not allowed — did you mean "table"? use one of: view, table`},
		{name: "bad strategy", layers: [][2]any{{"incremental_strategy", "upsert"}}, wantErr: `incremental_strategy "upsert" is not allowed — use one of: append, merge, delete+insert`},
		{name: "bool kind", layers: [][2]any{{"enabled", "yes"}}, wantErr: `config enabled must be true or false, not the string "yes"`},
		{name: "int kind", layers: [][2]any{{"retries", 1.5}}, wantErr: `config retries must be an integer, not the number 1.5`},
		{name: "negative int", layers: [][2]any{{"lookback", -1}}, wantErr: `must not be negative`},
		{name: "list of lists", layers: [][2]any{{"tags", []any{[]any{"a"}}}}, wantErr: `config tags[0] must be a string, not a list`},
		{name: "string from list", layers: [][2]any{{"schema", []any{"a"}}}, wantErr: `config schema must be a string, not a list`},
		{name: "quarantine shape", layers: [][2]any{{"quarantine", []any{map[string]any{"name": "x"}}}}, wantErr: `needs both name and condition`},
		{name: "contract key", layers: [][2]any{{"contract", map[string]any{"enforce": true}}}, wantErr: `unknown key "enforce" in config contract`},
		{name: "duration", layers: [][2]any{{"retry_delay", "soon"}}, wantErr: `retry_delay "soon" is not a duration`},
		{name: "watermark", layers: [][2]any{{"watermark", "20 minutez"}}, wantErr: `watermark "20 minutez" is not a duration — write it like '20 minutes'`},
		{name: "watermark negative", layers: [][2]any{{"watermark", "-5m"}}, wantErr: `watermark "-5m" must be positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			var err error
			for _, l := range tt.layers {
				if err = c.Apply(l[0].(string), l[1]); err != nil {
					break
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(c)
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &wantV); err != nil {
				t.Fatalf("want: %v", err)
			}
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("config =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestApplyCoversKeys sets every key of Keys to a value of its kind, so a
// key added to Keys without a case in Apply fails here.
func TestApplyCoversKeys(t *testing.T) {
	sample := map[KeyKind]any{
		KindString: "x", KindBool: true, KindInt: 1, KindFloat: 0.5, KindStringList: "x",
		KindMap: map[string]any{"a": 1}, KindStringMap: map[string]any{"a": "b"},
		KindQuarantine: []any{map[string]any{"name": "n", "condition": "c"}},
		KindContract:   map[string]any{"enforced": true},
	}
	enumSample := map[string]string{"materialized": "table", "incremental_strategy": "merge",
		"on_schema_change": "fail", "batch_size": "day", "strategy": "check", "hard_deletes": "ignore",
		"severity": "warn", "format": "csv", "retry_delay": "1s", "watermark": "20 minutes"}
	for key, kind := range Keys {
		c := DefaultConfig()
		v := sample[kind]
		if s, ok := enumSample[key]; ok {
			v = s
		}
		if err := c.Apply(key, v); err != nil {
			t.Errorf("Apply(%q): %v", key, err)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	tests := []struct {
		name  string
		cands []string
		want  string
	}{
		{"stg_paymnts", []string{"stg_payments", "stg_orders"}, "stg_payments"},
		{"endfi", []string{"endfor", "endif"}, "endif"},
		{"materialised", ConfigKeyNames(), "materialized"},
		{"x", []string{"orders"}, ""},
		{"orders", []string{"orders"}, ""},
	}
	for _, tt := range tests {
		if got := DidYouMean(tt.name, tt.cands); got != tt.want {
			t.Errorf("DidYouMean(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
