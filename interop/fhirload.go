package interop

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// Reading the inputs of a FHIR import: files, gzip, Bundles and Bulk NDJSON
// split into units, before anything is mapped or written.

// ---- import ----

// FHIRInput is one file (or stdin) of an import, already decompressed.
type FHIRInput struct {
	Name string
	Data []byte
}

// LoadFHIRInputs reads files and directories (every *.json, *.ndjson, and the
// same gzipped, in name order); "-" is r. Gzip is recognised by its magic.
// MaxFHIRInputBytes bounds one FHIR input file (a Bundle, or an NDJSON
// file), decompressed: each is read whole, so this bounds the memory an
// import may take, and a gzip bomb stops here with an error naming the file.
const MaxFHIRInputBytes = 1 << 30

func LoadFHIRInputs(paths []string, r io.Reader) ([]FHIRInput, error) {
	var out []FHIRInput
	tooBig := func(name string) error {
		return record.Invalid("file", name, "is larger than %d MiB (after decompression): import it in parts (a Bulk FHIR export is one file per resource type)", MaxFHIRInputBytes>>20)
	}
	add := func(name string, rd io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(rd, MaxFHIRInputBytes+1))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(b) > MaxFHIRInputBytes {
			return tooBig(name)
		}
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			// Bounded: a small .gz can expand to anything.
			if b, err = io.ReadAll(io.LimitReader(zr, MaxFHIRInputBytes+1)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if len(b) > MaxFHIRInputBytes {
				return tooBig(name)
			}
		}
		out = append(out, FHIRInput{Name: name, Data: b})
		return nil
	}
	for _, p := range paths {
		if p == "-" {
			if err := add("-", r); err != nil {
				return nil, err
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			err = add(p, f)
			f.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			n := strings.TrimSuffix(e.Name(), ".gz")
			if e.IsDir() || !(strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".ndjson")) {
				continue
			}
			f, err := os.Open(filepath.Join(p, e.Name()))
			if err != nil {
				return nil, err
			}
			err = add(filepath.Join(p, e.Name()), f)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// FHIRRejection is one problem that made a bundle (or a patient's part of a bulk set) rejected.
type FHIRRejection struct {
	File      string `json:"file"`
	Entry     int    `json:"entry"` // bundle entry index from 0, or NDJSON line from 1
	Path      string `json:"path"`
	Reason    string `json:"reason"`
	patientID string
}

func (r FHIRRejection) String() string {
	return fmt.Sprintf("%s: entry %d: %s: %s", r.File, r.Entry, r.Path, r.Reason)
}

// FHIRTypeCount is what happened to the resources of one type.
type FHIRTypeCount struct {
	Imported int `json:"imported"`
	Skipped  int `json:"skipped"`
	Rejected int `json:"rejected"`
}

// FHIRSkip says why resources were skipped.
type FHIRSkip struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// FHIRImportSummary is what an import did (or, dry, would do).
type FHIRImportSummary struct {
	Imported   int                       `json:"imported"`
	Skipped    int                       `json:"skipped"`
	Rejected   int                       `json:"rejected"`
	ByType     map[string]*FHIRTypeCount `json:"byType"`
	Rejections []FHIRRejection           `json:"rejections"`
	Skips      []FHIRSkip                `json:"skips"`
	// Flagged counts what was kept but flagged (codes outside the UK terminologies, degraded codes, partial dates).
	Flagged map[string]int `json:"flagged,omitempty"`
	// RejectedBundles is how many bundles (or patients of a bulk set) were rejected.
	RejectedBundles int `json:"rejectedBundles"`
}

// FHIRImportOptions control an import.
type FHIRImportOptions struct {
	DryRun   bool
	OnReject func(FHIRRejection)
}

type parsed struct {
	units      []*funit
	pool       []*fitem
	rejs       []FHIRRejection
	rejBundles int
	err        error
}

// parseGuarded is parse on a worker goroutine, where a panic would end the
// process with a stack trace (no recover at the command reaches it): the
// last line of defence, the input refused whole with an error naming it.
func parseGuarded(in FHIRInput) (p *parsed) {
	defer func() {
		if r := recover(); r != nil {
			p = &parsed{err: fmt.Errorf("%s: internal error while reading it (nothing was imported; please report this): %v", in.Name, r)}
		}
	}()
	return parse(in)
}

// parse splits one input into bundles (units) and loose resources (the pool).
// It touches nothing shared, so inputs are parsed in parallel.
func parse(in FHIRInput) *parsed {
	out := &parsed{}
	data := bytes.TrimSpace(in.Data)
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	nd := strings.HasSuffix(strings.TrimSuffix(in.Name, ".gz"), ".ndjson")
	if !nd && len(data) > 0 && data[0] == '{' {
		// One JSON document (a Bundle or a resource), unless it is NDJSON after all.
		if fhir.ResourceTypeOf(data) == "Bundle" {
			b, err := fhir.SplitBundle(data)
			if err == nil {
				out.bundleUnit(in.Name, b)
				return out
			}
			if !bytes.Contains(data, []byte("}\n{")) && !bytes.Contains(data, []byte("}\r\n{")) {
				// A truncated or malformed Bundle is refused whole: the entries
				// before the damage are not imported on their own.
				out.err = fmt.Errorf("%s: %w", in.Name, err)
				return out
			}
		}
		if r, err := fhir.Parse(data); err == nil {
			if b, ok := r.(*fhir.Bundle); ok {
				out.bundleUnit(in.Name, b)
				return out
			}
			out.pool = []*fitem{{file: in.Name, entry: 1, res: r, typ: r.FHIRType(), id: *r.Head().ID}}
			return out
		} else if !bytes.Contains(data, []byte("}\n{")) && !bytes.Contains(data, []byte("}\r\n{")) {
			out.err = fmt.Errorf("%s: %w", in.Name, err)
			return out
		}
	}
	line := 0
	for len(data) > 0 {
		line++
		var b []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			b, data = data[:i], data[i+1:]
		} else {
			b, data = data, nil
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		r, err := fhir.Parse(b)
		if err != nil {
			it := &fitem{file: in.Name, entry: line, typ: "(not a resource)", out: outSkipped, why: "not a FHIR resource (e.g. a bulk export log line)"}
			if !bytes.Contains(b, []byte(`"resourceType"`)) && json.Valid(b) {
				out.pool = append(out.pool, it)
				continue
			}
			it.out, it.why = outRejected, ""
			out.rejs = append(out.rejs, FHIRRejection{File: in.Name, Entry: line, Path: "", Reason: err.Error()})
			out.rejBundles++
			out.pool = append(out.pool, it)
			continue
		}
		if b, ok := r.(*fhir.Bundle); ok {
			out.bundleUnit(fmt.Sprintf("%s:%d", in.Name, line), b)
			continue
		}
		out.pool = append(out.pool, &fitem{file: in.Name, entry: line, res: r, typ: r.FHIRType(), id: *r.Head().ID})
	}
	return out
}

func (im *importer) reject(r FHIRRejection) {
	im.sum.Rejections = append(im.sum.Rejections, r)
	if im.o.OnReject != nil {
		im.o.OnReject(r)
	}
}

func (out *parsed) bundleUnit(name string, b *fhir.Bundle) {
	u := &funit{file: name}
	bad := ""
	switch b.Type {
	case "transaction", "batch", "collection", "searchset", "document", "message", "history":
	default:
		bad = "a bundle of type " + strconv.Quote(b.Type) + " carries nothing to import (use transaction, batch, collection or searchset)"
	}
	for i, e := range b.Entry {
		it := &fitem{file: name, entry: i, fullURL: e.FullURL, unit: u}
		if i := strings.LastIndex(e.FullURL, "/"); strings.HasPrefix(e.FullURL, "http") && i > 0 {
			if j := strings.LastIndex(e.FullURL[:i], "/"); j > 0 {
				it.base = e.FullURL[:j+1]
			}
		}
		u.items = append(u.items, it)
		if len(e.Resource) == 0 {
			it.typ, it.out, it.why = "(no resource)", outSkipped, "entry without a resource"
			continue
		}
		it.typ, it.id = fhir.Probe(e.Resource)
		if it.typ == "" {
			it.typ = "(unreadable)"
			if bad == "" {
				bad = "entry " + strconv.Itoa(i) + ": no resourceType"
			}
			continue
		}
		if identTypes[it.typ] || !fhir.Modelled(it.typ) {
			// What other resources look up is decoded now; the rest just before its bundle is written.
			r, err := fhir.Parse(e.Resource)
			if err != nil {
				it.typ = "(unreadable)"
				if bad == "" {
					bad = "entry " + strconv.Itoa(i) + ": " + err.Error()
				}
				continue
			}
			it.res = r
		} else {
			it.raw = e.Resource
		}
		if e.Request != nil && e.Request.Method != "" && e.Request.Method != "POST" && e.Request.Method != "PUT" {
			it.out, it.why, it.fixed = outSkipped, "request method "+e.Request.Method+" is not an import", true
		}
		if e.Search != nil && e.Search.Mode == "outcome" {
			it.out, it.why, it.fixed = outSkipped, "search outcome", true
		}
	}
	if bad != "" {
		for _, it := range u.items {
			it.out = outRejected
		}
		out.rejs = append(out.rejs, FHIRRejection{File: name, Entry: -1, Path: "Bundle", Reason: bad})
		out.rejBundles++
		u.rejected = true
	}
	out.units = append(out.units, u)
}
