package terminology

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Code system URIs (standards.md §1.2).
const (
	SystemSNOMED = "http://snomed.info/sct"
	SystemDMD    = "https://dmd.nhs.uk"
	SystemCTV3   = "http://read.info/ctv3"
	SystemRead2  = "http://read.info/readv2"
)

// Source names: each is imported and replaced on its own.
const (
	SourceSNOMED   = "snomed"
	SourceDMD      = "dmd"
	SourceCTV3     = "ctv3"
	SourceRead2    = "read2"
	SourceReadMap  = "read-map"
	codelistPrefix = "codelist:"
)

var systemOfSource = map[string]string{
	SourceSNOMED: SystemSNOMED, SourceDMD: SystemDMD, SourceCTV3: SystemCTV3, SourceRead2: SystemRead2,
}

// SystemURI turns the short names the CLI accepts (sct, snomed, dmd, ctv3, read2) or a URI
// into the system URI. An empty string stays empty (all systems).
func SystemURI(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "sct", "snomed", "snomedct", "snomed-ct", SystemSNOMED:
		return SystemSNOMED, nil
	case "dmd", "dm+d", SystemDMD, "http://dmd.nhs.uk":
		return SystemDMD, nil
	case "ctv3", "read3", SystemCTV3:
		return SystemCTV3, nil
	case "read2", "readv2", "read", SystemRead2:
		return SystemRead2, nil
	}
	return "", &ValueError{Field: "system", Value: s, Reason: "want sct, dmd, ctv3, read2 or a system URI"}
}

// ErrNotFound matches (errors.Is) every *NotFoundError.
var ErrNotFound = errors.New("code not found")

// ErrInactive matches (errors.Is) every *InactiveError.
var ErrInactive = errors.New("code is inactive")

// NotFoundError: the code is in no loaded release of that system.
type NotFoundError struct {
	System string
	Code   string
}

func (e *NotFoundError) Error() string {
	if e.System == "" {
		return fmt.Sprintf("unknown code %q", e.Code)
	}
	return fmt.Sprintf("unknown %s code %q", shortSystem(e.System), e.Code)
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// InactiveError: the code exists but is inactive; Replacements lists what the release suggests.
type InactiveError struct {
	System       string
	Code         string
	Term         string
	Replacements []Replacement
}

func (e *InactiveError) Error() string {
	msg := fmt.Sprintf("%s code %s |%s| is inactive", shortSystem(e.System), e.Code, e.Term)
	if len(e.Replacements) == 0 {
		return msg + "; the release names no replacement"
	}
	var parts []string
	for _, r := range e.Replacements {
		parts = append(parts, fmt.Sprintf("%s %s |%s|", strings.ToLower(r.Type), r.Code, r.Term))
	}
	return msg + "; " + strings.Join(parts, ", ")
}

func (e *InactiveError) Is(target error) bool { return target == ErrInactive }

// ValueError is an invalid argument (a bad ECL expression, an unknown system name…).
type ValueError struct {
	Field  string
	Value  string
	Reason string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// RowError is one bad row in an import file.
type RowError struct {
	File   string
	Line   int
	Reason string
}

func (e RowError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// ImportError lists the bad rows of a failed import (the previous release stays in use).
type ImportError struct {
	Source string
	Rows   []RowError // the first few; Total counts all
	Total  int
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "import %s failed, previous release kept: %d bad row(s)", e.Source, e.Total)
	for _, r := range e.Rows {
		b.WriteString("\n  ")
		b.WriteString(r.Error())
	}
	if e.Total > len(e.Rows) {
		fmt.Fprintf(&b, "\n  … and %d more", e.Total-len(e.Rows))
	}
	return b.String()
}

// problems collects bad rows during an import.
type problems struct {
	mu    sync.Mutex
	rows  []RowError
	total int
}

const maxReported = 20

func (p *problems) add(file string, line int, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	if len(p.rows) < maxReported {
		p.rows = append(p.rows, RowError{File: file, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
}

func (p *problems) err(source string) error {
	if p.total == 0 {
		return nil
	}
	sort.SliceStable(p.rows, func(i, j int) bool {
		if p.rows[i].File != p.rows[j].File {
			return p.rows[i].File < p.rows[j].File
		}
		return p.rows[i].Line < p.rows[j].Line
	})
	return &ImportError{Source: source, Rows: p.rows, Total: p.total}
}

// SourceInfo describes one loaded source for `gpsoc codes about`.
type SourceInfo struct {
	Name        string         `json:"name"`
	System      string         `json:"system,omitempty"`
	Release     string         `json:"release"`
	Embedded    bool           `json:"embedded"`
	ImportedAt  time.Time      `json:"importedAt"`
	Files       []string       `json:"files,omitempty"`
	Counts      map[string]int `json:"counts"`
	Licence     string         `json:"licence"`
	Attribution string         `json:"attribution"`
	Warnings    []string       `json:"warnings,omitempty"`
}

// Terminology is the open terminology file plus the loaded sources. Safe for concurrent use.
type Terminology struct {
	db *db

	mu      sync.RWMutex
	sources map[string]*source

	importMu sync.Mutex // one import at a time
	dataDir  string
}

// Open opens (or creates, owner-only) dataDir/terminology.db. Sources never imported get the
// embedded default (SNOMED IPS free set + supplement, dm+d extracts and code-list products),
// built into the file once; later opens only read it.
func Open(dataDir string) (*Terminology, error) {
	t := &Terminology{sources: map[string]*source{}, dataDir: dataDir}
	// Usually the file is ready and is opened read-only (shared with other processes).
	if d, err := openDB(dataDir, true); err == nil {
		t.db = d
		if !d.needsWrite() && !t.embeddedNeeded() {
			if err := t.reload(); err != nil {
				d.bolt.Close()
				return nil, err
			}
			return t, nil
		}
		d.bolt.Close()
	} else if errors.Is(err, ErrBusy) {
		return nil, err
	}
	// First use (or a stale embedded default): prepare it with the exclusive lock, then read-only.
	d, err := openDB(dataDir, false)
	if err != nil {
		return nil, err
	}
	t.db = d
	if err := t.ensureEmbedded(); err != nil {
		d.bolt.Close()
		return nil, err
	}
	d.bolt.Close()
	if t.db, err = openDB(dataDir, true); err != nil {
		return nil, err
	}
	if err := t.reload(); err != nil {
		t.db.bolt.Close()
		return nil, err
	}
	return t, nil
}

// writable reopens the file with the exclusive lock for an import (the caller
// holds importMu). A process importing waits for readers to close it.
func (t *Terminology) writable() error {
	if err := t.db.reopen(t.dataDir, false); err != nil {
		if errors.Is(err, ErrBusy) {
			return fmt.Errorf("%w: close the workstation (or other gpsoc processes) to import", err)
		}
		return err
	}
	return nil
}

// Close releases the file.
func (t *Terminology) Close() error { return t.db.close() }

// Path is the terminology file.
func (t *Terminology) Path() string { return t.db.path }

func (t *Terminology) reload() error {
	ptrs, err := t.db.pointers()
	if err != nil {
		return fmt.Errorf("read terminology sources: %w", err)
	}
	next := map[string]*source{}
	t.mu.RLock()
	for name, gen := range ptrs {
		if s := t.sources[name]; s != nil && s.gen == gen {
			next[name] = s
		}
	}
	t.mu.RUnlock()
	for name, gen := range ptrs {
		if next[name] != nil {
			continue
		}
		s, err := loadSource(t.db, name, gen)
		if err != nil {
			return err
		}
		next[name] = s
	}
	t.mu.Lock()
	t.sources = next
	t.mu.Unlock()
	return nil
}

func (t *Terminology) source(name string) *source {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.sources[name]
}

// sourcesFor lists the concept sources of a system ("" = all systems), code lists excluded.
func (t *Terminology) sourcesFor(system string) []*source {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []*source
	for _, name := range []string{SourceSNOMED, SourceDMD, SourceCTV3, SourceRead2} {
		s := t.sources[name]
		if s == nil {
			continue
		}
		if system == "" || systemOfSource[name] == system {
			out = append(out, s)
		}
	}
	return out
}

// install writes a release and reloads it. The import lock is held by the caller.
func (t *Terminology) install(r *release) (SourceInfo, error) {
	r.info.Name = r.name
	replaced, err := t.db.write(r)
	if err != nil {
		return SourceInfo{}, err
	}
	// readers move to the new release before the old one is deleted (a read that still
	// hits the old one retries on the new)
	err = t.reload()
	t.db.dropGeneration(replaced)
	if err != nil {
		return SourceInfo{}, err
	}
	return t.source(r.name).info, nil
}

// About lists each loaded source: release, counts, licence and attribution.
func (t *Terminology) About() []SourceInfo {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []SourceInfo
	for _, s := range t.sources {
		out = append(out, s.info)
	}
	order := map[string]int{SourceSNOMED: 0, SourceDMD: 1, SourceCTV3: 2, SourceRead2: 3, SourceReadMap: 4}
	sort.Slice(out, func(i, j int) bool {
		oi, ok := order[out[i].Name]
		if !ok {
			oi = 10
		}
		oj, ok := order[out[j].Name]
		if !ok {
			oj = 10
		}
		if oi != oj {
			return oi < oj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func shortSystem(uri string) string {
	switch uri {
	case SystemSNOMED:
		return "SNOMED CT"
	case SystemDMD:
		return "dm+d"
	case SystemCTV3:
		return "CTV3"
	case SystemRead2:
		return "Read v2"
	}
	return uri
}
