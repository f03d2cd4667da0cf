// Package manifest is the plain data every consumer of a compiled project
// reads: nodes, their configs, columns, tests, dependencies and compiled SQL.
// It is produced by the compiler and read by the selector, runner, docs and
// lineage; it imports nothing of elt but diag, and holds no behaviour beyond
// lookups and the manifest.json codec.
package manifest

import (
	"slices"
	"strings"

	"github.com/elt-dev/elt/diag"
)

// NodeID names a node uniquely: "model.<name>", "seed.<name>",
// "source.<source>.<table>", "test.<name>", "snapshot" models are models.
type NodeID string

// ResourceType is the kind of a node.
type ResourceType string

// The resource types of a project.
const (
	Model  ResourceType = "model"
	Seed   ResourceType = "seed"
	Source ResourceType = "source"
	Test   ResourceType = "test"
)

// ModelID returns the NodeID of the model called name.
func ModelID(name string) NodeID { return NodeID("model." + name) }

// SeedID returns the NodeID of the seed called name.
func SeedID(name string) NodeID { return NodeID("seed." + name) }

// SourceID returns the NodeID of table in source src.
func SourceID(src, table string) NodeID { return NodeID("source." + src + "." + table) }

// TestID returns the NodeID of the test called name.
func TestID(name string) NodeID { return NodeID("test." + name) }

// Type returns the resource type encoded in the id's first segment.
func (id NodeID) Type() ResourceType {
	s := string(id)
	if i := strings.IndexByte(s, '.'); i > 0 {
		return ResourceType(s[:i])
	}
	return ""
}

// Manifest is a compiled project. Nodes holds every model, seed, source and
// test by id; a node's DependsOn lists only ids present in Nodes.
type Manifest struct {
	Children map[NodeID][]NodeID `json:"child_map,omitempty"`
	Hooks    Hooks               `json:"hooks,omitempty"`
	Macros   map[string]*Macro   `json:"macros,omitempty"`
	Metadata Metadata            `json:"metadata"`
	Nodes    map[NodeID]*Node    `json:"nodes"`
	Vars     map[string]any      `json:"vars,omitempty"`
}

// Metadata describes the invocation that produced the manifest.
type Metadata struct {
	ProjectDir   string `json:"-"`
	DatabasePath string `json:"database_path"`
	EltVersion   string `json:"elt_version"`
	GeneratedAt  string `json:"generated_at"`
	InvocationID string `json:"invocation_id"`
	ProjectName  string `json:"project_name"`
	Target       string `json:"target"`
	Threads      int    `json:"threads"`
}

// Hooks are the compiled on-run-start and on-run-end statements.
type Hooks struct {
	OnRunEnd   []string `json:"on_run_end,omitempty"`
	OnRunStart []string `json:"on_run_start,omitempty"`
}

// Macro is a macro defined in macros/.
type Macro struct {
	Args []string `json:"arguments,omitempty"`
	Name string   `json:"name"`
	Pos  diag.Pos `json:"pos"`
}

// Node is one model, seed, source or test. Fields that do not apply to a
// resource type stay empty.
type Node struct {
	Alias string `json:"alias,omitempty"`
	// Fingerprint is a hex sha256 over the compiled SQL and the canonical
	// JSON of Config: equal fingerprints mean the node would build the same.
	Fingerprint string `json:"checksum,omitempty"`
	// Columns are in declaration order (YAML), names unique within a node.
	Columns      []Column `json:"columns,omitempty"`
	CompiledSQL  string   `json:"compiled_code,omitempty"`
	CompiledPath string   `json:"compiled_path,omitempty"`
	Config       Config   `json:"config"`
	// DataTests are the tests declared on the node itself (not its columns),
	// as written in YAML; the compiler also expands them into test nodes.
	DataTests []TestSpec `json:"data_tests,omitempty"`
	// DependsOn is sorted and free of duplicates.
	DependsOn   []NodeID       `json:"depends_on,omitempty"`
	Description string         `json:"description,omitempty"`
	Meta        map[string]any `json:"meta,omitempty"`
	Name        string         `json:"name"`
	// Path is the defining file relative to the project directory: the .sql
	// of a model or singular test, the .csv of a seed, the .yml of a source
	// or generic test.
	Path   string   `json:"original_file_path"`
	Pos    diag.Pos `json:"pos"`
	RawSQL string   `json:"raw_code,omitempty"`
	// Relation is the quoted relation the node builds or reads, e.g.
	// "main"."stg_events"; empty for ephemeral models and tests. For a file
	// source it is the reader expression, e.g. read_csv('data/x/*.csv', ...).
	Relation     string       `json:"relation_name,omitempty"`
	ResourceType ResourceType `json:"resource_type"`
	Schema       string       `json:"schema,omitempty"`
	Seed         *SeedInfo    `json:"seed,omitempty"`
	Source       *SourceInfo  `json:"source,omitempty"`
	Tags         []string     `json:"tags,omitempty"`
	TestInfo     *TestInfo    `json:"test,omitempty"`
	ID           NodeID       `json:"unique_id"`

	// MacroFiles are the files under macros/ whose macros rendering the
	// node called, sorted: partial parsing renders the node again when one
	// of them changes. They are not in manifest.json.
	MacroFiles []string `json:"-"`
	// VarsRead are the variables its rendering read with var(), sorted:
	// partial parsing renders the node again when one of them changes. They
	// are not in manifest.json.
	VarsRead []string `json:"-"`
}

// Column documents one column of a node.
type Column struct {
	DataTests   []TestSpec     `json:"data_tests,omitempty"`
	DataType    string         `json:"data_type,omitempty"`
	Description string         `json:"description,omitempty"`
	Meta        map[string]any `json:"meta,omitempty"`
	Name        string         `json:"name"`
	Pos         diag.Pos       `json:"pos"`
	Tags        []string       `json:"tags,omitempty"`
}

// TestSpec is one entry of a data_tests list as written: the generic test's
// name, its arguments, and its config (severity, where, …).
type TestSpec struct {
	Args   map[string]any `json:"args,omitempty"`
	Config map[string]any `json:"config,omitempty"`
	// CustomName is the test node's name when the YAML gives one (name:).
	CustomName string   `json:"custom_name,omitempty"`
	Name       string   `json:"name"`
	Pos        diag.Pos `json:"pos"`
}

// SourceInfo is what a source node reads.
type SourceInfo struct {
	EventTime        string         `json:"event_time,omitempty"`
	Format           string         `json:"format,omitempty"`
	Freshness        *Freshness     `json:"freshness,omitempty"`
	HivePartitioning bool           `json:"hive_partitioning,omitempty"`
	Identifier       string         `json:"identifier,omitempty"`
	LoadedAtField    string         `json:"loaded_at_field,omitempty"`
	Options          map[string]any `json:"options,omitempty"`
	// Path is the glob relative to the project directory; empty when the
	// source names a database table (Schema, Identifier).
	Path       string `json:"path,omitempty"`
	Schema     string `json:"schema,omitempty"`
	SourceName string `json:"source_name"`
	// Stream is set on a stream source: stream models read its new
	// events batch by batch.
	Stream    *StreamInfo `json:"stream,omitempty"`
	TableName string      `json:"table_name"`
}

// StreamInfo is a stream source's input: a landing folder or a Kafka topic.
type StreamInfo struct {
	// Columns are the declared columns and types, in order, when every
	// declared column has a data_type: the events are read with exactly
	// these types instead of inferring them batch by batch.
	Columns  [][2]string `json:"columns,omitempty"`
	Format   string      `json:"format"` // json (newline-delimited) | csv | parquet
	Kafka    *KafkaInfo  `json:"kafka,omitempty"`
	MaxFiles int         `json:"max_files,omitempty"`
	// Options are the source's reader options (options:).
	Options map[string]any `json:"options,omitempty"`
	// Path is the landing folder's glob relative to the project; empty
	// for Kafka.
	Path string `json:"path,omitempty"`
	// Settle is how long a landed file must stay unchanged before it is
	// read (a Go duration); empty for the default.
	Settle string `json:"settle,omitempty"`
}

// KafkaInfo names a Kafka topic.
type KafkaInfo struct {
	Brokers []string `json:"brokers"`
	Topic   string   `json:"topic"`
}

// Freshness holds a source's warn and error thresholds.
type Freshness struct {
	ErrorAfter *Period `json:"error_after,omitempty"`
	WarnAfter  *Period `json:"warn_after,omitempty"`
}

// Period is a count of minute, hour or day units.
type Period struct {
	Count  int    `json:"count"`
	Period string `json:"period"`
}

// SeedInfo is what a seed node loads.
type SeedInfo struct {
	// Path is the CSV file relative to the project directory.
	Path string `json:"path"`
}

// TestInfo describes a test node. A generic test has TestName (e.g.
// "unique") and Args; a singular test has neither.
type TestInfo struct {
	Args map[string]any `json:"args,omitempty"`
	// AttachedNode is the node the test is declared on, and ColumnName the
	// column, when any.
	AttachedNode NodeID `json:"attached_node,omitempty"`
	ColumnName   string `json:"column_name,omitempty"`
	TestName     string `json:"test_name,omitempty"`
	TestType     string `json:"test_type"` // generic | singular | unit
	// Unit is set on unit tests (TestType "unit").
	Unit *UnitTestInfo `json:"unit,omitempty"`
}

// Node returns the node with id, or nil.
func (m *Manifest) Node(id NodeID) *Node { return m.Nodes[id] }

// IDs returns every node id, sorted.
func (m *Manifest) IDs() []NodeID {
	ids := make([]NodeID, 0, len(m.Nodes))
	for id := range m.Nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// BuildChildren fills Children from every node's DependsOn, each list sorted.
func (m *Manifest) BuildChildren() {
	m.Children = make(map[NodeID][]NodeID, len(m.Nodes))
	for _, id := range m.IDs() {
		for _, dep := range m.Nodes[id].DependsOn {
			m.Children[dep] = append(m.Children[dep], id)
		}
	}
}
