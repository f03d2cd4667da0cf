package project

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary YAML to the project and properties readers,
// which must report problems and never panic. The seeds are the YAML files
// of testdata/; fuzz further with
//
//	go test ./project -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	for _, p := range []string{
		"testdata/full/project.yaml", "testdata/full/models/staging/_schema.yml",
		"testdata/type_errors/project.yaml", "testdata/type_errors/models/schema.yml",
		"testdata/anchors/models/staging/schema.yml", "testdata/dates/project.yaml",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &fileCtx{file: "x.yml"}
		if root := c.parseYAML(data); root != nil {
			c.parseProps(root)
			c.parseProject(root, &Project{Targets: map[string]*Target{}, Vars: map[string]any{}, Jobs: map[string]*Job{},
				ModelDefaults: newFolderConfig(), SeedDefaults: newFolderConfig()}, &fileSet{dirs: map[string]bool{}})
		}
	})
}
