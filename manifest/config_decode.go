package manifest

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elt-dev/elt/diag"
)

// configEnums lists the values accepted by config keys that take one word
// out of a fixed set. Values are compared in lower case.
var configEnums = map[string][]string{
	"materialized":         Materializations,
	"incremental_strategy": IncrementalStrategies,
	"on_schema_change":     {"ignore", "append_new_columns", "sync_all_columns", "fail"},
	"batch_size":           {"hour", "day", "month", "year"},
	"strategy":             {"timestamp", "check"},
	"hard_deletes":         {"ignore", "invalidate", "new_record"},
	"severity":             {"error", "warn"},
	"format":               {"parquet", "csv", "json"},
}

// DefaultConfig returns the configuration every model starts from before
// any project, folder, YAML or file setting: enabled, a view, in schema main.
func DefaultConfig() Config {
	return Config{Enabled: true, Materialized: "view", Schema: "main"}
}

// NormalizeConfigKey returns key as Keys spells it: a leading "+" removed
// and dashes turned into underscores (pre-hook → pre_hook).
func NormalizeConfigKey(key string) string {
	return strings.ReplaceAll(strings.TrimPrefix(key, "+"), "-", "_")
}

// ConfigKeyNames returns every key of Keys, sorted.
func ConfigKeyNames() []string {
	names := make([]string, 0, len(Keys))
	for k := range Keys {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// CheckConfigKey returns an error naming the closest known key when key
// (normalised) is not in Keys.
func CheckConfigKey(key string) error {
	key = NormalizeConfigKey(key)
	if _, ok := Keys[key]; ok {
		return nil
	}
	if s := DidYouMean(key, ConfigKeyNames()); s != "" {
		return fmt.Errorf("unknown config key %q — did you mean %q?", key, s)
	}
	return fmt.Errorf("unknown config key %q — allowed: %s", key, strings.Join(ConfigKeyNames(), ", "))
}

// CheckConfigValue validates v for the config key (normalised first) and
// returns it in its canonical Go form by kind: string, bool, int, float64,
// []string, map[string]any, map[string]string, []QuarantineRule or
// *Contract. Values may come from YAML (int64, float64, …) or from Jinja
// (int, …). A nil v stays nil and means "not set". The error says what is
// wrong and how to fix it; the caller adds the position.
func CheckConfigValue(key string, v any) (any, error) {
	key = NormalizeConfigKey(key)
	if err := CheckConfigKey(key); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	kind := Keys[key]
	switch kind {
	case KindString:
		s, ok := scalarString(v)
		if !ok {
			return nil, fmt.Errorf("config %s must be a string, not %s", key, describe(v))
		}
		return checkStringValue(key, s)
	case KindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("config %s must be true or false, not %s", key, describe(v))
		}
		return b, nil
	case KindInt:
		n, ok := toInt(v)
		if !ok {
			return nil, fmt.Errorf("config %s must be an integer, not %s", key, describe(v))
		}
		if n < 0 {
			return nil, fmt.Errorf("config %s must not be negative, got %d", key, n)
		}
		return n, nil
	case KindFloat:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("config %s must be a number, not %s", key, describe(v))
		}
		return f, nil
	case KindStringList:
		return toStringList(key, v)
	case KindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config %s must be a mapping, not %s", key, describe(v))
		}
		return m, nil
	case KindStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			if sm, ok := v.(map[string]string); ok {
				return sm, nil
			}
			return nil, fmt.Errorf("config %s must be a mapping of strings, not %s", key, describe(v))
		}
		out := make(map[string]string, len(m))
		for k, x := range m {
			s, ok := scalarString(x)
			if !ok {
				return nil, fmt.Errorf("config %s.%s must be a string, not %s", key, k, describe(x))
			}
			out[k] = s
		}
		return out, nil
	case KindQuarantine:
		return toQuarantine(v)
	case KindContract:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config contract must be a mapping like {enforced: true}, not %s", describe(v))
		}
		c := &Contract{}
		for k, x := range m {
			if k != "enforced" {
				return nil, fmt.Errorf("unknown key %q in config contract — the only key is \"enforced\"", k)
			}
			b, ok := x.(bool)
			if !ok {
				return nil, fmt.Errorf("config contract.enforced must be true or false, not %s", describe(x))
			}
			c.Enforced = b
		}
		return c, nil
	}
	return nil, fmt.Errorf("config %s has an unknown kind", key)
}

// checkStringValue checks enumerated keys and durations.
func checkStringValue(key, s string) (string, error) {
	if allowed, ok := configEnums[key]; ok {
		l := strings.ToLower(s)
		for _, a := range allowed {
			if l == a {
				return a, nil
			}
		}
		hint := ""
		if d := DidYouMean(l, allowed); d != "" {
			hint = fmt.Sprintf("did you mean %q? ", d)
		}
		return "", fmt.Errorf("%s %q is not allowed — %suse one of: %s", key, s, hint, strings.Join(allowed, ", "))
	}
	if key == "watermark" {
		if _, err := ParseWatermark(s); err != nil {
			return "", err
		}
	}
	if key == "retry_delay" {
		if _, err := time.ParseDuration(s); err != nil {
			return "", fmt.Errorf("retry_delay %q is not a duration — write it like \"2s\" or \"1m30s\"", s)
		}
	}
	return s, nil
}

// Apply validates v for key and sets it on c. tags, pre_hook and post_hook
// accumulate across calls (a union that keeps first-seen order), meta merges
// key by key with later values winning, and every other key replaces the
// previous value. So applying the layers from least to most specific gives
// dbt's precedence. A nil v leaves c unchanged.
func (c *Config) Apply(key string, v any) error {
	key = NormalizeConfigKey(key)
	val, err := CheckConfigValue(key, v)
	if err != nil || val == nil {
		return err
	}
	switch key {
	case "enabled":
		c.Enabled = val.(bool)
	case "materialized":
		c.Materialized = val.(string)
	case "schema":
		c.Schema = val.(string)
	case "alias":
		c.Alias = val.(string)
	case "tags":
		c.Tags = union(c.Tags, val.([]string))
	case "meta":
		if c.Meta == nil {
			c.Meta = map[string]any{}
		}
		for k, x := range val.(map[string]any) {
			c.Meta[k] = x
		}
	case "pre_hook":
		c.PreHook = union(c.PreHook, val.([]string))
	case "post_hook":
		c.PostHook = union(c.PostHook, val.([]string))
	case "incremental_strategy":
		c.IncrementalStrategy = val.(string)
	case "unique_key":
		c.UniqueKey = val.([]string)
	case "updated_at":
		c.UpdatedAt = val.(string)
	case "delete_condition":
		c.DeleteCondition = val.(string)
	case "on_schema_change":
		c.OnSchemaChange = val.(string)
	case "partition_by":
		c.PartitionBy = val.([]string)
	case "event_time":
		c.EventTime = val.(string)
	case "batch_size":
		c.BatchSize = val.(string)
	case "begin":
		c.Begin = val.(string)
	case "lookback":
		c.Lookback = val.(int)
	case "forward_only":
		c.ForwardOnly = val.(bool)
	case "watermark":
		c.Watermark = val.(string)
	case "full_refresh":
		b := val.(bool)
		c.FullRefresh = &b
	case "location":
		c.Location = val.(string)
	case "format":
		c.Format = val.(string)
	case "strategy":
		c.Strategy = val.(string)
	case "check_cols":
		c.CheckCols = val.([]string)
	case "hard_deletes":
		c.HardDeletes = val.(string)
	case "quarantine":
		c.Quarantine = val.([]QuarantineRule)
	case "max_quarantine_ratio":
		f := val.(float64)
		c.MaxQuarantineRatio = &f
	case "profile":
		c.Profile = val.(bool)
	case "contract":
		c.Contract = val.(*Contract)
	case "retries":
		c.Retries = val.(int)
	case "retry_delay":
		c.RetryDelay = val.(string)
	case "column_types":
		if c.ColumnTypes == nil {
			c.ColumnTypes = map[string]string{}
		}
		for k, x := range val.(map[string]string) {
			c.ColumnTypes[k] = x
		}
	case "delimiter":
		c.Delimiter = val.(string)
	case "severity":
		c.Severity = val.(string)
	case "where":
		c.Where = val.(string)
	case "warn_if":
		c.WarnIf = val.(string)
	case "error_if":
		c.ErrorIf = val.(string)
	case "store_failures":
		c.StoreFailures = val.(bool)
	case "limit":
		c.Limit = val.(int)
	default:
		return fmt.Errorf("config key %q is known but not handled", key)
	}
	return nil
}

// union appends the items of add missing from base, keeping order.
func union(base, add []string) []string {
	out := append([]string(nil), base...)
	for _, a := range add {
		found := false
		for _, b := range out {
			if a == b {
				found = true
				break
			}
		}
		if !found {
			out = append(out, a)
		}
	}
	return out
}

func toStringList(key string, v any) ([]string, error) {
	if s, ok := scalarString(v); ok {
		return []string{s}, nil
	}
	var items []any
	switch l := v.(type) {
	case []any:
		items = l
	case []string:
		return append([]string(nil), l...), nil
	default:
		return nil, fmt.Errorf("config %s must be a string or a list of strings, not %s", key, describe(v))
	}
	out := make([]string, 0, len(items))
	for i, x := range items {
		s, ok := scalarString(x)
		if !ok {
			return nil, fmt.Errorf("config %s[%d] must be a string, not %s", key, i, describe(x))
		}
		out = append(out, s)
	}
	return out, nil
}

func toQuarantine(v any) ([]QuarantineRule, error) {
	const how = "write quarantine: [{name: not_negative, condition: \"amount >= 0\"}]"
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("config quarantine must be a list of {name, condition} — %s", how)
	}
	out := make([]QuarantineRule, 0, len(items))
	for i, x := range items {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config quarantine[%d] must be a mapping {name, condition}, not %s — %s", i, describe(x), how)
		}
		var r QuarantineRule
		for k, y := range m {
			s, ok := scalarString(y)
			if !ok {
				return nil, fmt.Errorf("config quarantine[%d].%s must be a string, not %s", i, k, describe(y))
			}
			switch k {
			case "name":
				r.Name = s
			case "condition":
				r.Condition = s
			default:
				return nil, fmt.Errorf("unknown key %q in config quarantine[%d] — allowed: name, condition", k, i)
			}
		}
		if r.Name == "" || r.Condition == "" {
			return nil, fmt.Errorf("config quarantine[%d] needs both name and condition — %s", i, how)
		}
		out = append(out, r)
	}
	return out, nil
}

// scalarString renders a scalar as a string; lists, maps and nil are not scalars.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return int(x), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// describe names the shape of v for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case int, int64, float64:
		return fmt.Sprintf("the number %v", x)
	case []any, []string:
		return "a list"
	case map[string]any, map[string]string:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

// DidYouMean returns the candidate other than name closest to it, or ""
// (see diag.Suggest).
func DidYouMean(name string, candidates []string) string {
	others := make([]string, 0, len(candidates))
	for _, c := range candidates {
		if c != name {
			others = append(others, c)
		}
	}
	return diag.Suggest(name, others)
}
