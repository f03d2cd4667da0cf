package partialparse

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// partial_parse.gob, the record's manifest: encoded while the compile
// writes its artifacts, decoded by a lookup.

// bodyHead is the first value of partial_parse.gob; the nodes follow, one
// gob value each in IDs order, so that no single message holds them all.
type bodyHead struct {
	Manifest manifest.Manifest // without Nodes
	IDs      []manifest.NodeID
	// ZeroPointers are, by node, the pointers to zero values gob drops
	// (see zeroPointers); Root those of Manifest.
	ZeroPointers map[manifest.NodeID][][]int
	Root         [][]int
}

// Encoded is a manifest encoded for the record by EncodeManifest: a
// temporary file in the target directory, which Save renames into place
// and Discard removes.
type Encoded struct {
	tmp string
	err error
	// nodes is how many nodes the manifest holds; callers how many of
	// them called each macro file, readers how many read each variable.
	nodes   int
	callers map[string]int
	readers map[string]int
}

// Discard removes the encoded file; for a compile whose record is not
// saved. It is safe to call after Save.
func (e Encoded) Discard() {
	if e.tmp != "" {
		os.Remove(e.tmp)
	}
}

// EncodeManifest encodes m for Save into a temporary file in targetDir,
// streaming it rather than holding it in memory (73 MB at 100,000 models,
// while the compile's heap is at its peak); it can run while manifest.json
// is written, as both only read m.
func EncodeManifest(m *manifest.Manifest, targetDir string) Encoded {
	if err := os.MkdirAll(targetDir, 0o755); err != nil {
		return Encoded{err: err}
	}
	sweepTemporary(targetDir, time.Now())
	f, err := os.CreateTemp(targetDir, BodyName+".*.tmp")
	if err != nil {
		return Encoded{err: err}
	}
	fail := func(err error) Encoded {
		f.Close()
		os.Remove(f.Name())
		return Encoded{err: err}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := gob.NewEncoder(w)
	head := bodyHead{Manifest: *m, IDs: m.IDs(), ZeroPointers: map[manifest.NodeID][][]int{}}
	head.Manifest.Nodes = nil
	head.Root = zeroPointers(reflect.ValueOf(&head.Manifest))
	for _, id := range head.IDs {
		if zp := zeroPointers(reflect.ValueOf(m.Nodes[id])); len(zp) > 0 {
			head.ZeroPointers[id] = zp
		}
	}
	if err := enc.Encode(&head); err != nil {
		return fail(err)
	}
	callers, readers := map[string]int{}, map[string]int{}
	for _, id := range head.IDs {
		n := m.Nodes[id]
		if err := enc.Encode(n); err != nil {
			return fail(fmt.Errorf("node %s: %w", id, err))
		}
		for _, f := range n.MacroFiles {
			callers[f]++
		}
		for _, v := range n.VarsRead {
			readers[v]++
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return Encoded{err: err}
	}
	return Encoded{tmp: f.Name(), nodes: len(head.IDs), callers: callers, readers: readers}
}

func decodeBody(p string) (*manifest.Manifest, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var head bodyHead
	if err := dec.Decode(&head); err != nil {
		return nil, err
	}
	m := head.Manifest
	restorePointers(reflect.ValueOf(&m).Elem(), head.Root)
	m.Nodes = make(map[manifest.NodeID]*manifest.Node, len(head.IDs))
	for _, id := range head.IDs {
		var n manifest.Node
		if err := dec.Decode(&n); err != nil {
			return nil, err
		}
		if n.ID != id {
			return nil, fmt.Errorf("node %s where %s was expected", n.ID, id)
		}
		restorePointers(reflect.ValueOf(&n).Elem(), head.ZeroPointers[id])
		m.Nodes[id] = &n
	}
	return &m, nil
}
