package terminology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/fixtures/embedded"
)

// The UK reference pack (fixtures/embedded/qof): the QOF cluster code lists, loaded as code
// lists named after their cluster (DM_COD…) so that searches and ECL (^DM_COD) can name them.
// They are never part of the embedded default: a code is recordable only when a concept source
// holds it. A cluster the user imported under the same name (a newer release) is theirs: a
// later binary's pack never replaces it.

const refPackPrefix = "nhsd-primary-care-domain-refsets-"

type refList struct {
	name, file string // DM_COD, qof/nhsd-primary-care-domain-refsets-dm_cod.csv
}

var refPack = sync.OnceValues(func() ([]refList, string) {
	h := sha256.New()
	var out []refList
	entries, _ := fs.ReadDir(embedded.QOF, "qof")
	for _, e := range entries {
		p := path.Join("qof", e.Name())
		data, _ := embedded.QOF.ReadFile(p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
		if !strings.HasPrefix(e.Name(), refPackPrefix) || !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		name := strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(e.Name(), refPackPrefix), ".csv"))
		out = append(out, refList{name: name, file: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, "ukref-" + hex.EncodeToString(h.Sum(nil))[:12]
})

// ReferenceCodelists names the code lists of the UK reference pack (the QOF clusters).
func ReferenceCodelists() []string {
	lists, _ := refPack()
	out := make([]string, len(lists))
	for i, l := range lists {
		out[i] = l.name
	}
	return out
}

// refPackStale lists the pack's lists that the file lacks or holds from another binary's pack.
func (t *Terminology) refPackStale(ptrs map[string]string) ([]refList, error) {
	lists, version := refPack()
	var out []refList
	for _, l := range lists {
		gen, ok := ptrs[codelistPrefix+l.name]
		if !ok {
			out = append(out, l)
			continue
		}
		info, err := t.db.meta(gen)
		if err != nil {
			return nil, err
		}
		if info.Embedded && info.Release != version {
			out = append(out, l)
		}
	}
	return out, nil
}

// buildRefList reads one cluster of the pack into a code-list release.
func buildRefList(l refList) (*release, error) {
	_, version := refPack()
	f, err := embedded.QOF.Open(l.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cl, err := readCodelist(f, "fixtures/embedded/"+l.file)
	if err != nil {
		return nil, err
	}
	info := SourceInfo{System: cl.system, Release: version, Embedded: true,
		Files:   []string{"fixtures/embedded/" + l.file + " (compiled in)"},
		Counts:  map[string]int{"rows": len(cl.rows)},
		Licence: "SNOMED CT UK content (NHS England Primary Care Domain reference sets, via OpenCodelists), used under the UK SNOMED CT affiliate licence; see fixtures/embedded/qof/README.md",
		Attribution: "QOF cluster " + l.name + ": NHS England Primary Care Domain reference set, republished by OpenCodelists (Bennett Institute, University of Oxford). " +
			"This material includes SNOMED Clinical Terms® (SNOMED CT®), used by permission of SNOMED International."}
	return codelistRelease(l.name, cl, info), nil
}

// codelistRelease builds the stored form of a code list.
func codelistRelease(name string, cl *codelistFile, info SourceInfo) *release {
	b := newBuilder()
	for _, r := range cl.rows {
		c := b.concept(r.code)
		if c.PT == "" {
			c.PT = r.term
		}
		c.Kind = r.kind
	}
	r := b.build(codelistPrefix+name, info)
	r.info.Name = r.name
	return r
}

// ensureRefPack writes the pack's lists the file lacks or holds from another pack (the caller
// holds importMu and the file is open for writing).
func (t *Terminology) ensureRefPack(ptrs map[string]string) error {
	stale, err := t.refPackStale(ptrs)
	if err != nil {
		return err
	}
	for _, l := range stale {
		r, err := buildRefList(l)
		if err != nil {
			return err
		}
		replaced, err := t.db.write(r)
		if err != nil {
			return err
		}
		t.db.dropGeneration(replaced) // nothing is loaded yet: no reader can hold it
	}
	return nil
}
