// Package project loads an elt project from disk: project.yaml, the
// properties YAML under models/ (and seeds/), and the lists of model, macro,
// test and seed files. It reads YAML through yaml.v3 Nodes so every value
// keeps its file:line, rejects unknown keys, and reports every problem of a
// load at once as a diag.List. It renders no Jinja and resolves no refs:
// that is the compiler's job.
package project

import (
	"github.com/elt-dev/elt/diag"
)

// FileName is the project file every project directory holds.
const FileName = "project.yaml"

// Project is a loaded project. Paths in it are relative to Dir and use
// forward slashes.
type Project struct {
	Dir  string // absolute project directory
	Name string
	Pos  diag.Pos // of project.yaml's first line

	DefaultTarget string
	Targets       map[string]*Target
	Vars          map[string]any // normalised: time.Time becomes "2006-01-02" or RFC 3339 strings

	// ModelDefaults are the folder defaults under `models:`; SeedDefaults
	// those under `seeds:`.
	ModelDefaults *FolderConfig
	SeedDefaults  *FolderConfig

	OnRunStart []Hook
	OnRunEnd   []Hook

	Jobs   map[string]*Job
	Alerts []*Alert

	Models    []*SQLFile // models/**/*.sql, sorted by path
	Macros    []*SQLFile // macros/**/*.sql, sorted by path
	Tests     []*SQLFile // tests/**/*.sql, sorted by path
	SeedFiles []string   // seeds/**/*.csv, sorted
	// RootsByName lists the sections of project.yaml ("models", "seeds")
	// whose folder defaults nest under the project's name and are read as
	// the root, because no folder of that name exists: creating that
	// folder changes every default of the section.
	RootsByName []string `json:"-"`
	// PropsFiles are the properties files: models/**/*.yml and
	// seeds/**/*.yml (.yaml too), sorted.
	PropsFiles []string `json:"-"`

	// Properties gathered from every models/**/*.yml (and seeds/**/*.yml).
	ModelProps map[string]*ModelProps // by model name
	SeedProps  map[string]*ModelProps // by seed name
	Sources    []*Source
	UnitTests  []*UnitTest

	// Inputs are the files Load read (project.yaml, SQL and YAML; not the
	// seeds' CSV), sorted by path, with the digests of their bytes.
	Inputs []InputFile `json:"-"`
	// Volatile names the first properties YAML file that mentions a name
	// of VolatileNames, e.g. `models/a.yml mentions run_started_at`; ""
	// if none. (SQL templates and model hooks are checked by the compiler
	// as it renders them; on-run-start and on-run-end hooks render only
	// when a run starts.)
	Volatile string `json:"-"`
	// SettingsSHA256 is the digest of project.yaml without its vars
	// entry (see settingsDigest): equal for two versions of the file
	// that differ in their variables alone.
	SettingsSHA256 [32]byte `json:"-"`
}

// InputFile is one file Load read and the SHA-256 of its bytes.
type InputFile struct {
	Path   string
	SHA256 [32]byte
}

// VolatileNames are template names whose value differs from one
// invocation to the next: a compile that renders one cannot be reused by
// the next invocation.
var VolatileNames = []string{"run_started_at", "invocation_id", "lipsum"}

// Target is one entry of `targets:`.
type Target struct {
	Name        string
	Path        string // database file relative to Dir, or ":memory:"
	Threads     int    // defaults to 4
	MemoryLimit string
	Settings    map[string]string
	Pos         diag.Pos
}

// Hook is one SQL statement of on-run-start/on-run-end or pre/post hooks.
type Hook struct {
	SQL string
	Pos diag.Pos
}

// Value is a YAML value with its position. Scalars are normalised to
// string, bool, int64, float64; dates and times to strings.
type Value struct {
	V   any
	Pos diag.Pos
}

// ConfigMap maps config keys (dashes normalised to underscores, leading "+"
// removed) to values.
type ConfigMap map[string]Value

// FolderConfig is the tree of folder defaults under models: or seeds:.
// Config applies to every file under the folder; Children are subfolders
// by name. The root's Config applies to all.
type FolderConfig struct {
	Config   ConfigMap
	Children map[string]*FolderConfig
}

// SQLFile is a .sql file of the project.
type SQLFile struct {
	Path    string // relative to Dir, forward slashes
	Name    string // file name without .sql
	Content string
}

// ModelProps is a model (or seed) entry of a properties file.
type ModelProps struct {
	Name        string
	Description string
	Config      ConfigMap
	Columns     []*ColumnProps
	Tests       []*TestSpec // model-level data_tests
	Meta        map[string]any
	Tags        []string
	File        string
	Pos         diag.Pos
}

// ColumnProps documents one column.
type ColumnProps struct {
	Name        string
	Description string
	DataType    string
	Meta        map[string]any
	Tags        []string
	Tests       []*TestSpec
	Pos         diag.Pos
}

// TestSpec is one item of a data_tests (or tests) list: `- unique`,
// `- accepted_values: {values: [...], config: {severity: warn}}`, or the
// arguments given directly beside the config keys. Config holds the keys of
// manifest.Keys found either under config: or beside the arguments.
type TestSpec struct {
	Name   string
	Args   map[string]any
	Config ConfigMap
	Pos    diag.Pos
	// CustomName is the optional `name:` argument naming the test node;
	// it is not part of Args.
	CustomName string
}

// Source is one entry of `sources:`.
type Source struct {
	Name        string
	Description string
	Schema      string
	Meta        map[string]any
	Tags        []string
	Tables      []*SourceTable
	File        string
	Pos         diag.Pos
}

// SourceTable is one table of a source.
type SourceTable struct {
	Name             string
	Description      string
	Path             string // glob relative to the project; empty for database tables
	Format           string // csv|parquet|json; derived from Path's extension when empty
	HivePartitioning bool
	Options          map[string]any
	Schema           string
	Identifier       string
	LoadedAtField    string
	EventTime        string
	Freshness        *Freshness
	// Stream is set on a stream source (stream:): new events arrive as
	// files in a landing folder or as Kafka records.
	Stream  *StreamSource
	Meta    map[string]any
	Tags    []string
	Columns []*ColumnProps
	Tests   []*TestSpec
	Pos     diag.Pos
}

// StreamSource is a source table's stream: block. Exactly one of Path and
// Kafka is set.
type StreamSource struct {
	// Path is the landing folder's glob, relative to the project.
	Path string
	// Kafka is set for a Kafka topic.
	Kafka *KafkaSource
	// Format is the events' format: json (newline-delimited; Kafka's only
	// format), csv or parquet; derived from Path's extension when empty.
	Format string
	// Settle is how long a landed file's size and modification time must
	// stay unchanged before it is read, as a Go duration ("500ms").
	Settle string
	// MaxFiles bounds the files of one batch (0: the default).
	MaxFiles int
	Pos      diag.Pos
}

// KafkaSource names a Kafka topic.
type KafkaSource struct {
	Brokers []string
	Topic   string
	Pos     diag.Pos
}

// Freshness holds freshness thresholds.
type Freshness struct {
	WarnAfter  *Period
	ErrorAfter *Period
}

// Period is a count of minute|hour|day units.
type Period struct {
	Count  int
	Period string
}

// UnitTest is one entry of `unit_tests:`.
type UnitTest struct {
	Name        string
	Description string
	Model       string
	Given       []*UnitGiven
	Expect      UnitRows
	File        string
	Pos         diag.Pos
}

// UnitGiven is one input of a unit test: `ref('x')` or `source('s', 't')`.
type UnitGiven struct {
	Input string
	UnitRows
}

// UnitRows are fixture rows, as a list of maps or as CSV text.
type UnitRows struct {
	Rows []map[string]any
	CSV  string
	Pos  diag.Pos
}

// Job is one entry of `jobs:`.
type Job struct {
	Name      string
	Schedule  string
	Timezone  string
	Command   string
	StartDate string
	Catchup   bool
	Retries   int
	Vars      map[string]any
	Pos       diag.Pos
	// RetryDelay is retry_delay as written ("30s", "5m"); the scheduler
	// parses it.
	RetryDelay string
}

// Alert is one entry of `alerts:`.
type Alert struct {
	On      []string // failure|warn|recovery
	Webhook string
	Command string
	Pos     diag.Pos
}
