package materialize

import (
	"fmt"
	"path"
	"strings"
)

// External is the file part of an external model's plan: Build writes the
// model's rows under WriteDir, then the runner moves them under Location —
// every file when Full, else only the partition directories WriteDir holds,
// each replacing the partition of the same name.
type External struct {
	// Location and WriteDir are absolute directories.
	Location, WriteDir string
	// Full replaces everything under Location; otherwise only the
	// partitions written are replaced.
	Full bool
	// Partitioned says the files sit in hive partition directories.
	Partitioned bool
	// Ext is the files' extension, ".parquet" or ".csv".
	Ext string
}

// ExternalFile is the name of the one file written per partition (or per
// model when unpartitioned): a rerun writes the same name, so it
// overwrites, never adds.
const ExternalFile = "data_0"

// ExternalLocation returns where an external model's files go, relative
// to the project unless absolute: its location config, else
// target/external/<name>.
func ExternalLocation(location, name string) string {
	if location != "" {
		return strings.TrimRight(location, "/")
	}
	return "target/external/" + name
}

// externalFormat returns the model's file format: parquet (default) or csv.
func externalFormat(format string) (string, error) {
	switch f := strings.ToLower(format); f {
	case "", "parquet":
		return "parquet", nil
	case "csv":
		return "csv", nil
	default:
		return "", fmt.Errorf("format %q cannot be written by an external model — use parquet or csv", format)
	}
}

// ExternalIncremental reports whether an external model rewrites only the
// partitions of its batch: it names an incremental_strategy, is
// partitioned, its view exists, and no full refresh was asked for.
func ExternalIncremental(in Input) bool {
	full := in.FullRefresh
	if in.Config.FullRefresh != nil {
		full = *in.Config.FullRefresh
	}
	return in.Config.IncrementalStrategy != "" && len(in.Config.PartitionBy) > 0 && !full && in.Existing == ExistingView
}

// ExternalModel plans an external model: COPY its rows, sorted by every
// column so the bytes are the same on every run, into one file per
// partition under WriteDir (PARTITION_BY, hive layout), and publish a view
// named after the model that reads the files back (so ref() and show work
// on it). The view reads Location as configured, relative to the project.
func ExternalModel(in Input) (Plan, error) {
	if err := checkTarget(in); err != nil {
		return Plan{}, err
	}
	if strings.TrimSpace(in.SQL) == "" {
		return Plan{}, fmt.Errorf("model %s has no SQL — write a SELECT in its file", in.Name)
	}
	if in.Location == "" || in.WriteDir == "" {
		return Plan{}, fmt.Errorf("external model %s needs its absolute location and write directory", in.Name)
	}
	format, err := externalFormat(in.Config.Format)
	if err != nil {
		return Plan{}, err
	}
	ext := "." + format
	opts := []string{"FORMAT " + format}
	if format == "csv" {
		opts = append(opts, "HEADER")
	}
	to := strings.TrimRight(in.WriteDir, "/")
	partitioned := len(in.Config.PartitionBy) > 0
	if partitioned {
		// DuckDB writes one file per partition, numbering {i} from 0:
		// the file is ExternalFile.
		opts = append(opts, "PARTITION_BY ("+joinIdents(in.Config.PartitionBy, "")+")",
			"FILENAME_PATTERN 'data_{i}'", "OVERWRITE_OR_IGNORE")
	} else {
		to += "/" + ExternalFile + ext
	}
	// "(" ends the first line, so the model's lines keep their numbers.
	copyStmt := "COPY (SELECT * FROM (" + selectSQL(in.SQL) + "\n) ORDER BY ALL) TO " + quoteString(to) + " (" + strings.Join(opts, ", ") + ")"

	rel := ExternalLocation(in.Config.Location, in.Name)
	glob := rel + "/*" + ext
	reader := "read_" + format + "(" + quoteString(glob)
	if partitioned {
		reader = "read_" + format + "(" + quoteString(path.Join(rel, "**", "*"+ext)) + ", hive_partitioning = true"
	}
	if format == "csv" {
		reader += ", header = true"
	}
	reader += ")"
	target := relation(in.Schema, in.Name)
	var publish []string
	if in.Existing == ExistingTable {
		publish = append(publish, "DROP TABLE IF EXISTS "+target)
	}
	publish = append(publish, "CREATE OR REPLACE VIEW "+target+" AS SELECT * FROM "+reader)
	return Plan{
		Target:  target,
		HasRows: true,
		Main:    0,
		Build:   []string{copyStmt},
		Publish: publish,
		External: &External{
			Location: in.Location, WriteDir: in.WriteDir, Full: !ExternalIncremental(in),
			Partitioned: partitioned, Ext: ext,
		},
	}, nil
}
