// Command eltgen writes the synthetic projects of package gen to a
// directory, for benchmarking elt by hand or profiling it:
//
//	go run ./bench/eltgen -models 10000 -shape layered -docs 0.1 -macros /tmp/p10k
//	go build -o elt . && ./elt compile --project-dir /tmp/p10k
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/elt-dev/elt/bench/gen"
)

func main() {
	var o gen.ProjectOptions
	var shape string
	flag.IntVar(&o.Models, "models", 1000, "number of models besides the base model")
	flag.StringVar(&shape, "shape", string(gen.Layered), "fan, chain or layered")
	flag.StringVar(&o.Materialized, "materialized", "view", "view or table")
	flag.IntVar(&o.BaseRows, "rows", 100, "rows of the base model")
	flag.Float64Var(&o.DocShare, "docs", 0.1, "share of models documented in YAML with columns and tests")
	flag.BoolVar(&o.Macros, "macros", true, "call a macro in every model")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: eltgen [flags] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	o.Shape = gen.Shape(shape)
	names, err := gen.Project(flag.Arg(0), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "eltgen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d models to %s\n", len(names), flag.Arg(0))
}
