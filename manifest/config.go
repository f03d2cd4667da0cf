package manifest

import (
	"bytes"
	"encoding/json"
)

// Config is a node's merged configuration (file > YAML > folder > project).
// Every key a user may write maps to one field here; Keys lists them with
// their value kinds, and a key outside Keys is an error at load time.
//
// Its fields keep the order they have always had: a node's fingerprint
// hashes Config's JSON in that order (PlainConfig), and a new order would
// make every model look changed to an upgraded elt (a microbatch model
// would rebuild every interval). Its MarshalJSON writes the keys sorted,
// as manifest.json needs.
type Config struct {
	Enabled      bool           `json:"enabled"`
	Materialized string         `json:"materialized,omitempty"` // view|table|incremental|ephemeral|external|snapshot|stream
	Schema       string         `json:"schema,omitempty"`
	Alias        string         `json:"alias,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	Meta         map[string]any `json:"meta,omitempty"`
	PreHook      []string       `json:"pre_hook,omitempty"`
	PostHook     []string       `json:"post_hook,omitempty"`

	// Incremental models.
	IncrementalStrategy string   `json:"incremental_strategy,omitempty"`
	UniqueKey           []string `json:"unique_key,omitempty"`
	UpdatedAt           string   `json:"updated_at,omitempty"`
	DeleteCondition     string   `json:"delete_condition,omitempty"`
	OnSchemaChange      string   `json:"on_schema_change,omitempty"`
	PartitionBy         []string `json:"partition_by,omitempty"`
	EventTime           string   `json:"event_time,omitempty"`
	BatchSize           string   `json:"batch_size,omitempty"`
	Begin               string   `json:"begin,omitempty"`
	Lookback            int      `json:"lookback,omitempty"`
	ForwardOnly         bool     `json:"forward_only,omitempty"`
	FullRefresh         *bool    `json:"full_refresh,omitempty"`

	// Stream models: windows older than the newest event time minus
	// Watermark are final (e.g. "20 minutes").
	Watermark string `json:"watermark,omitempty"`

	// External models.
	Location string `json:"location,omitempty"`
	Format   string `json:"format,omitempty"`

	// Snapshots.
	Strategy    string   `json:"strategy,omitempty"`
	CheckCols   []string `json:"check_cols,omitempty"` // ["all"] means every column
	HardDeletes string   `json:"hard_deletes,omitempty"`

	// Quality.
	Quarantine         []QuarantineRule `json:"quarantine,omitempty"`
	MaxQuarantineRatio *float64         `json:"max_quarantine_ratio,omitempty"`
	Contract           *Contract        `json:"contract,omitempty"`
	// Profile asks for a column profile of the node's table after every
	// successful build, though no drift test watches it (those that one
	// watches are profiled whatever Profile says).
	Profile bool `json:"profile,omitempty"`

	// Execution.
	Retries    int    `json:"retries,omitempty"`
	RetryDelay string `json:"retry_delay,omitempty"` // a Go duration, e.g. "2s"

	// Seeds.
	ColumnTypes map[string]string `json:"column_types,omitempty"`
	Delimiter   string            `json:"delimiter,omitempty"`

	// Tests.
	Severity      string `json:"severity,omitempty"` // error|warn
	Where         string `json:"where,omitempty"`
	WarnIf        string `json:"warn_if,omitempty"`
	ErrorIf       string `json:"error_if,omitempty"`
	StoreFailures bool   `json:"store_failures,omitempty"`
	Limit         int    `json:"limit,omitempty"`
}

// MarshalJSON writes c with its members, and those of the objects in it,
// sorted by key (see Encode).
func (c Config) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(PlainConfig(c)); err != nil {
		return nil, err
	}
	return canonicalObject(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// PlainConfig is Config without its MarshalJSON: encoding/json writes it
// in field order, the bytes node fingerprints hash.
type PlainConfig Config

// QuarantineRule routes rows failing Condition to <model>__quarantine.
// Its field order is part of fingerprints, as Config's is.
type QuarantineRule struct {
	Name      string `json:"name"`
	Condition string `json:"condition"`
}

// Contract is a model's column contract.
type Contract struct {
	Enforced bool `json:"enforced"`
}

// KeyKind is the shape of value a config key accepts.
type KeyKind int

// The value kinds of config keys.
const (
	KindString     KeyKind = iota // a scalar rendered as a string
	KindBool                      // true/false
	KindInt                       // an integer
	KindFloat                     // a number
	KindStringList                // a string or a list of strings
	KindMap                       // a mapping of any values
	KindStringMap                 // a mapping of string values
	KindQuarantine                // a list of {name, condition}
	KindContract                  // {enforced: bool}
)

// Keys lists every config key a user may set, with its kind. Keys written
// with dashes (pre-hook) are normalised to underscores before lookup.
var Keys = map[string]KeyKind{
	"enabled": KindBool, "materialized": KindString, "schema": KindString, "alias": KindString,
	"tags": KindStringList, "meta": KindMap, "pre_hook": KindStringList, "post_hook": KindStringList,
	"incremental_strategy": KindString, "unique_key": KindStringList, "updated_at": KindString,
	"delete_condition": KindString, "on_schema_change": KindString, "partition_by": KindStringList,
	"event_time": KindString, "batch_size": KindString, "begin": KindString, "lookback": KindInt,
	"forward_only": KindBool, "full_refresh": KindBool, "watermark": KindString,
	"location": KindString, "format": KindString,
	"strategy": KindString, "check_cols": KindStringList, "hard_deletes": KindString,
	"quarantine": KindQuarantine, "max_quarantine_ratio": KindFloat, "contract": KindContract,
	"profile": KindBool,
	"retries": KindInt, "retry_delay": KindString,
	"column_types": KindStringMap, "delimiter": KindString,
	"severity": KindString, "where": KindString, "warn_if": KindString, "error_if": KindString,
	"store_failures": KindBool, "limit": KindInt,
}

// Materializations lists the values "materialized" accepts.
var Materializations = []string{"view", "table", "incremental", "ephemeral", "external", "snapshot", "stream"}

// IncrementalStrategies lists the values "incremental_strategy" accepts.
var IncrementalStrategies = []string{"append", "merge", "delete+insert", "insert_overwrite", "microbatch"}
