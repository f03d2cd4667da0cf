package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Encode renders m as manifest.json: compact (as dbt writes it), every
// object's keys sorted, ending in a newline, so two compiles of one project
// give byte-identical files. It is EncodeChunks joined into one slice.
// (Indenting doubled the encoding time of a 10,000-model manifest and its
// size on disk; `jq .` indents it for reading.)
func Encode(m *Manifest) ([]byte, error) {
	e, err := EncodeChunks(m, nil)
	if err != nil {
		return nil, err
	}
	return e.Bytes(), nil
}

// Encoded is an encoded manifest.json held as consecutive chunks, so that
// it is written and compared without first being joined (100 MB at
// 100,000 models, at the moment a compile's heap peaks).
type Encoded struct {
	chunks [][]byte
	// nodesAt is the offset of the first node member ("id":{…}) and
	// members the members' lengths in ID order (commas between them).
	nodesAt int
	members []int
	copied  int // members copied from a Prior
}

// Copied is how many node members the encoding copied from its Prior.
func (e *Encoded) Copied() int { return e.copied }

// NodeMembers returns the offset of the first node member ("id":{…}) of
// the encoding and the members' lengths in ID order, one comma apart: what
// a later encoding may copy (see Prior).
func (e *Encoded) NodeMembers() (at int, lengths []int) { return e.nodesAt, e.members }

// Prior is an earlier manifest.json whose node members an encoding may
// copy instead of encoding the nodes again (a partial parse shares most
// nodes with the compile that wrote it).
type Prior struct {
	// File reads the earlier manifest.json.
	File io.ReaderAt
	// Spans are where each node's member lies in File.
	Spans map[NodeID][2]int64
	// Same reports whether File encodes node id as the manifest being
	// encoded holds it.
	Same func(id NodeID) bool
}

// Len is the encoding's length in bytes.
func (e *Encoded) Len() int {
	n := 0
	for _, c := range e.chunks {
		n += len(c)
	}
	return n
}

// Bytes returns the encoding as one slice.
func (e *Encoded) Bytes() []byte {
	if len(e.chunks) == 1 {
		return e.chunks[0]
	}
	out := make([]byte, 0, e.Len())
	for _, c := range e.chunks {
		out = append(out, c...)
	}
	return out
}

// Span returns the bytes from start to end of the encoding (a slice of a
// chunk when they lie in one).
func (e *Encoded) Span(start, end int) []byte {
	var out []byte
	off := 0
	for _, c := range e.chunks {
		lo, hi := max(start-off, 0), min(end-off, len(c))
		if lo < hi {
			if lo == start-off && hi == end-off {
				return c[lo:hi]
			}
			out = append(out, c[lo:hi]...)
		}
		off += len(c)
	}
	return out
}

// Reader reads the encoding.
func (e *Encoded) Reader() io.Reader {
	rs := make([]io.Reader, len(e.chunks))
	for i, c := range e.chunks {
		rs[i] = bytes.NewReader(c)
	}
	return io.MultiReader(rs...)
}

// MetadataSpan is MetadataSpan of the encoding. Keys are sorted, so the
// metadata member comes before the nodes, in the first chunk.
func (e *Encoded) MetadataSpan() (start, end int, err error) {
	if start, end, err := MetadataSpan(e.chunks[0]); err == nil {
		return start, end, nil
	}
	return MetadataSpan(e.Bytes())
}

// EncodeChunks encodes m as Encode does. The nodes are canonicalised in
// parallel, a run of consecutive nodes at a time into a chunk of their
// own, between the chunks of the rest of the manifest: the bytes are
// those of one canonical round trip of the whole manifest
// (encodeCanonical), at a fraction of its time and memory on large
// projects. With a prior, the members of the nodes it holds unchanged are
// read from it, consecutive ones at once, each checked to begin with its
// node's key; any that does not is encoded.
func EncodeChunks(m *Manifest, prior *Prior) (*Encoded, error) {
	if len(m.Nodes) == 0 {
		b, err := encodeSorted(m)
		if err != nil {
			return nil, err
		}
		return &Encoded{chunks: [][]byte{b}}, nil
	}
	rest := *m
	rest.Nodes = map[NodeID]*Node{}
	head, err := encodeSorted(&rest)
	if err != nil {
		return nil, err
	}
	// The nodes object is the value of a top-level key.
	const empty = `"nodes":{}`
	at := bytes.Index(head, []byte(empty))
	if at < 0 {
		return nil, fmt.Errorf("manifest encoding: no nodes member")
	}
	ids := m.IDs()
	workers := min(runtime.GOMAXPROCS(0), len(ids))
	// More runs than workers, taken in turn, so that no worker is left
	// with the slow end of the list.
	runs := min(len(ids), 8*workers)
	bodies := make([][]byte, runs)
	errs := make([]error, runs)
	members := make([]int, len(ids))
	var priorUnfit atomic.Bool // a copied member was not where prior said
	var copied atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			encode := newSortedEncoder().encode
			for {
				r := int(next.Add(1) - 1)
				if r >= runs {
					return
				}
				lo, hi := r*len(ids)/runs, (r+1)*len(ids)/runs
				// Sized once: grown by appends, the run's megabytes were
				// copied and faulted in again and again (0.9 s of CPU at
				// 100,000 models).
				est := 0
				for _, id := range ids[lo:hi] {
					est += memberSizeEstimate(id, m.Nodes[id])
				}
				out := make([]byte, 0, est)
				for i := lo; i < hi; {
					if i > 0 {
						out = append(out, ',')
					}
					if prior != nil && !priorUnfit.Load() {
						n, fits := copyMembers(prior, ids[i:hi], &out, members[i:hi])
						if !fits {
							priorUnfit.Store(true) // encode everything from here on
						}
						if n > 0 {
							copied.Add(int64(n))
							i += n
							continue
						}
					}
					start := len(out)
					key, err := encode(string(ids[i]))
					if err != nil {
						errs[r] = err
						break
					}
					out = append(append(out, key...), ':')
					val, err := encode(m.Nodes[ids[i]])
					if err != nil {
						errs[r] = err
						break
					}
					out = append(out, val...)
					members[i] = len(out) - start
					i++
				}
				bodies[r] = out
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	chunks := make([][]byte, 0, runs+2)
	chunks = append(chunks, append(head[:at:at], `"nodes":{`...))
	chunks = append(chunks, bodies...)
	chunks = append(chunks, append([]byte{'}'}, head[at+len(empty):]...))
	return &Encoded{chunks: chunks, nodesAt: len(chunks[0]), members: members, copied: int(copied.Load())}, nil
}

// memberSizeEstimate is about the length of the member "id":{…} of node n
// in manifest.json: its texts and the rest of its members (10% over, for
// the nodes of a generated project; 10–20% under, for the example's,
// whose tests and configs it leaves out: one more growth of the run).
func memberSizeEstimate(id NodeID, n *Node) int {
	if n == nil {
		return len(id) + 16
	}
	size := len(id) + len(n.RawSQL) + len(n.CompiledSQL) + len(n.Description) + 640
	for _, d := range n.DependsOn {
		size += len(d) + 3
	}
	for _, c := range n.Columns {
		size += len(c.Name) + len(c.Description) + 64
	}
	return size
}

// copyMembers appends to out the members of the longest prefix of ids
// that prior holds unchanged, each with a plain key and one after another
// (a comma apart), reading them at once, records their lengths in
// lengths, and returns how many it appended. fits is false, and nothing appended, when a member
// read does not begin with its node's key or end its object: the spans do
// not describe the file.
func copyMembers(prior *Prior, ids []NodeID, out *[]byte, lengths []int) (n int, fits bool) {
	var from, to int64
	for n < len(ids) && plainKey(ids[n]) && prior.Same(ids[n]) {
		span, ok := prior.Spans[ids[n]]
		if !ok || span[1] <= span[0] || n > 0 && span[0] != to+1 {
			break
		}
		if n == 0 {
			from = span[0]
		}
		to = span[1]
		n++
	}
	if n == 0 {
		return 0, true
	}
	start := len(*out)
	buf := slices.Grow(*out, int(to-from))[:start+int(to-from)]
	if _, err := prior.File.ReadAt(buf[start:], from); err != nil {
		return 0, false
	}
	at := start
	for i := 0; i < n; i++ {
		span := prior.Spans[ids[i]]
		key := `"` + string(ids[i]) + `":`
		if !bytes.HasPrefix(buf[at:], []byte(key)) {
			return 0, false
		}
		lengths[i] = int(span[1] - span[0])
		at += lengths[i] + 1
	}
	if buf[at-2] != '}' { // the last member's end
		return 0, false
	}
	*out = buf
	return n, true
}

// plainKey reports whether encoding/json writes id as a string unchanged
// (printable ASCII without quotes or backslashes), so that its key is
// recognised without encoding it.
func plainKey(id NodeID) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// encodeCanonical renders v as compact JSON ending in a newline, without
// HTML escaping. Every struct type a manifest holds declares its fields in
// the order of their JSON names (TestEncodedKeysInOrder holds them to it)
// and encoding/json writes map keys sorted, so the output is canonical: the
// bytes of a round trip through generic values (UseNumber), without a pass
// that sorts members (which was 40% of encoding).
func encodeCanonical(v any) ([]byte, error) {
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return raw.Bytes(), nil
}

// encodeSorted is encodeCanonical, with the sorting pass when v holds
// values whose order encoding/json does not get right (holdsOpaque): a
// rare node, at a cost only to it.
func encodeSorted(v any) ([]byte, error) {
	b, err := newSortedEncoder().encode(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// sortedEncoder encodes values as encodeSorted does, without the final
// newline, reusing one buffer: what encode returns is valid until its
// next call.
type sortedEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newSortedEncoder() *sortedEncoder {
	s := &sortedEncoder{}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

func (s *sortedEncoder) encode(v any) ([]byte, error) {
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(s.buf.Bytes(), []byte("\n"))
	if !holdsOpaque(reflect.ValueOf(v)) {
		return out, nil
	}
	return canonicalObject(out)
}

// canonicalObject returns the compact JSON value src with the members of
// every object in it sorted by key.
func canonicalObject(src []byte) ([]byte, error) {
	sorted, rest, err := sortKeys(make([]byte, 0, len(src)), src)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("manifest encoding: trailing data")
	}
	return sorted, nil
}

// sortKeys appends to dst the compact JSON value at the start of src with
// the members of every object sorted by key, and returns the rest of src.
// src is compact JSON as encoding/json writes it (no white space).
func sortKeys(dst, src []byte) ([]byte, []byte, error) {
	if len(src) == 0 {
		return nil, nil, fmt.Errorf("manifest encoding: unexpected end")
	}
	switch src[0] {
	case '{':
		// Members are copied to dst as they come, then reordered in place
		// only when their keys are out of order: encoding/json writes map
		// keys sorted, so most objects need no reordering.
		type member struct {
			key        string // unquoted
			start, end int    // the member's "key":value in dst
		}
		var buf [16]member
		members := buf[:0]
		base := len(dst)
		dst = append(dst, '{')
		src = src[1:]
		for len(src) > 0 && src[0] != '}' {
			if src[0] == ',' {
				src = src[1:]
			}
			n := stringEnd(src)
			if n < 0 || n >= len(src) || src[n] != ':' {
				return nil, nil, fmt.Errorf("manifest encoding: bad object key")
			}
			if len(members) > 0 {
				dst = append(dst, ',')
			}
			start := len(dst)
			dst = append(dst, src[:n+1]...)
			var err error
			key := unquoteKey(src[:n])
			if dst, src, err = sortKeys(dst, src[n+1:]); err != nil {
				return nil, nil, err
			}
			members = append(members, member{key, start, len(dst)})
		}
		if len(src) == 0 {
			return nil, nil, fmt.Errorf("manifest encoding: unterminated object")
		}
		byKey := func(a, b member) int { return strings.Compare(a.key, b.key) }
		if !slices.IsSortedFunc(members, byKey) {
			body := append([]byte(nil), dst[base+1:]...)
			slices.SortStableFunc(members, byKey)
			dst = dst[:base+1]
			for i, m := range members {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, body[m.start-base-1:m.end-base-1]...)
			}
		}
		return append(dst, '}'), src[1:], nil
	case '[':
		dst = append(dst, '[')
		src = src[1:]
		for i := 0; len(src) > 0 && src[0] != ']'; i++ {
			if src[0] == ',' {
				src = src[1:]
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, src, err = sortKeys(dst, src); err != nil {
				return nil, nil, err
			}
		}
		if len(src) == 0 {
			return nil, nil, fmt.Errorf("manifest encoding: unterminated array")
		}
		return append(dst, ']'), src[1:], nil
	case '"':
		n := stringEnd(src)
		if n < 0 {
			return nil, nil, fmt.Errorf("manifest encoding: unterminated string")
		}
		return append(dst, src[:n]...), src[n:], nil
	}
	// A number, true, false or null: up to the next delimiter.
	n := bytes.IndexAny(src, ",]}")
	if n < 0 {
		n = len(src)
	}
	return append(dst, src[:n]...), src[n:], nil
}

// stringEnd returns the length of the JSON string literal at the start of
// src, quotes included, or -1.
func stringEnd(src []byte) int {
	if len(src) == 0 || src[0] != '"' {
		return -1
	}
	for i := 1; i < len(src); {
		q := bytes.IndexByte(src[i:], '"')
		if q < 0 {
			return -1
		}
		i += q
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		escapes := 0
		for j := i - 1; j > 0 && src[j] == '\\'; j-- {
			escapes++
		}
		if escapes%2 == 0 {
			return i + 1
		}
		i++
	}
	return -1
}

// unquoteKey returns the string a JSON key literal stands for.
func unquoteKey(lit []byte) string {
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1])
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return string(lit)
	}
	return s
}

// ReadFile reads a manifest.json written by Encode, e.g. the one in the
// directory given to --state.
func ReadFile(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not a valid manifest: %v — delete it and run elt compile again", path, err)
	}
	if m.Nodes == nil {
		m.Nodes = map[NodeID]*Node{}
	}
	return &m, nil
}

// MetadataSpan returns where the value of the metadata member of data, a
// manifest.json written by Encode, starts and ends.
func MetadataSpan(data []byte) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, 0, fmt.Errorf("manifest: not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, err
		}
		key, _ := tok.(string)
		// The offset after a key is before its ':'.
		from := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, err
		}
		if key != "metadata" {
			continue
		}
		end := int(dec.InputOffset())
		colon := bytes.IndexByte(data[from:end], ':')
		if colon < 0 {
			return 0, 0, fmt.Errorf("manifest: malformed metadata member")
		}
		return from + colon + 1, end, nil
	}
	return 0, 0, fmt.Errorf("manifest: no metadata member")
}

// EncodeMetadata is md as Encode writes it inside manifest.json.
func EncodeMetadata(md Metadata) ([]byte, error) {
	enc, err := encodeCanonical(md)
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(enc, []byte("\n")), nil
}
