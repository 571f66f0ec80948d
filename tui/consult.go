package tui

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// Observable codes the structured fields record.
const (
	codeBP     = "75367002"
	codeWeight = "27113001"
	codeHbA1c  = "999791000000106"
)

// consultECL restricts the coded-entry picker to findings, procedures,
// situations and observables (what a consultation codes), not substances or
// body structures.
const consultECL = "<< 404684003 OR << 71388002 OR << 243796009 OR << 363787002"

// Draft is a consultation being written, kept on disk so a crash or a closed
// terminal never loses it.
type Draft struct {
	Patient     string              `json:"patient"`
	User        string              `json:"user"`
	Started     time.Time           `json:"started"`
	Saved       time.Time           `json:"saved"`
	History     string              `json:"history"`
	Examination string              `json:"examination"`
	Plan        string              `json:"plan"`
	BP          string              `json:"bp,omitempty"`
	Weight      string              `json:"weight,omitempty"`
	HbA1c       string              `json:"hba1c,omitempty"`
	Codes       []record.CodedEntry `json:"codes,omitempty"`
	Type        string              `json:"type,omitempty"`
}

// DraftPath is $DATA/drafts/<user>-<patient>.json.
func DraftPath(dataDir, user, patient string) string {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == 0 {
				return '_'
			}
			return r
		}, s)
	}
	return filepath.Join(dataDir, "drafts", safe(user)+"-"+safe(patient)+".json")
}

// draftFile orders a consultation's draft writes with its removal: draft
// writes run on their own goroutines, and one still in flight when the
// consultation is saved (or discarded) must not put the draft back, or the
// saved consultation is offered again as a draft and could be saved twice.
type draftFile struct {
	mu     sync.Mutex
	closed bool
}

func (g *draftFile) write(path string, d Draft) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	return writeDraft(path, d)
}

// remove deletes the draft for good: later writes of this page do nothing.
func (g *draftFile) remove(path string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	_ = os.Remove(path)
}

// writeDraft writes atomically, owner-only.
func writeDraft(path string, d Draft) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readDraft(path string) (*Draft, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Draft
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

type draftFoundMsg struct {
	rev   uint64
	draft *Draft
}
type draftTickMsg struct{ rev uint64 }
type draftSavedMsg struct {
	rev uint64
	err error
	at  time.Time
}
type consultSavedMsg struct {
	rev uint64
	res *clinical.ConsultResult
	err error
}
type pickerResultsMsg struct {
	rev   uint64
	codes []Code
	err   error
}

// draftDebounce is how long typing pauses before the draft is written.
var draftDebounce = 300 * time.Millisecond

// picker is the coded-entry search: live, restricted to a hierarchy, with
// legacy Read v2 / CTV3 codes looked up and mapped to SNOMED.
type picker struct {
	input  Field
	system int // 0 SNOMED, 1 Read v2, 2 CTV3
	codes  []Code
	sel    int
	rev    uint64
	shown  uint64 // revision of the results on screen
	err    error
	// pending: enter was pressed before the results of the last keystroke
	// came; the pick waits for them, so type-ahead never picks a stale row.
	pending bool
}

var pickerSystems = []struct{ short, label string }{{"sct", "SNOMED CT"}, {"read2", "Read v2"}, {"ctv3", "CTV3"}}

// legacyCode is the shape of a Read v2 or CTV3 code: 5 characters.
var legacyCode = regexp.MustCompile(`^[A-Za-z0-9.]{5}$`)

// looksLegacy: the shape, with a digit, a dot or a capital (C10F., H33..,
// XaJQp), so a typed word like "cough" is searched as a term.
func looksLegacy(q string) bool {
	return legacyCode.MatchString(q) && strings.ContainsAny(q, ".0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

// consultPage writes one consultation.
type consultPage struct {
	c        *Common
	rec      *recordPage
	patient  string
	fields   []*Field // history, examination, plan, bp, weight, hba1c
	focus    int
	codes    []record.CodedEntry
	picker   *picker
	started  time.Time
	rev      uint64 // draft revision (every change)
	savedRev uint64 // revision on disk
	savedAt  time.Time
	offer    *Draft // a draft found on opening, not yet answered
	saving   bool
	saveRev  uint64
	drafts   *draftFile // the draft's writes, ordered with its removal
	err      string
	checked  bool // draft lookup done
	discard  bool // ctrl+x pressed once: press again to discard
	// confirm is an implausible value the service refused pending a
	// confirmation (the one difference between paths): saving again, once
	// its grace period is over, keeps it flagged; any edit withdraws it.
	confirm    string
	confirmRev uint64
	armed      bool
	// ctype is the consultation type: surgery, telephone, video or home
	// (a visit); it starts as today's appointment's mode.
	ctype string
}

// confirmArmedMsg ends the grace period of a value confirmation, so a save
// typed ahead cannot confirm a value nobody has read.
type confirmArmedMsg struct{ rev uint64 }

func newConsultPage(c *Common, rec *recordPage) *consultPage {
	p := &consultPage{c: c, rec: rec, patient: rec.id, started: c.Now(), ctype: todaysMode(c, rec), drafts: &draftFile{}}
	p.fields = []*Field{
		{Label: "History", Multi: true, Lines: 3},
		{Label: "Examination", Multi: true, Lines: 2},
		{Label: "Plan", Multi: true, Lines: 2},
		{Label: "BP", Placeholder: "140/90"},
		{Label: "Weight kg"},
		{Label: "HbA1c mmol/mol"},
	}
	p.fields[0].Focus()
	return p
}

func (p *consultPage) Context() string { return "consult" }
func (p *consultPage) Title() string   { return "Consultation" }
func (p *consultPage) TextFocus() bool { return p.offer == nil }

func (p *consultPage) draftPath() string { return DraftPath(p.c.DataDir, p.c.User(), p.patient) }

func (p *consultPage) dirty() bool { return p.rev != p.savedRev }

func (p *consultPage) empty() bool {
	for _, f := range p.fields {
		if strings.TrimSpace(f.Value()) != "" {
			return false
		}
	}
	return len(p.codes) == 0
}

func (p *consultPage) draft() Draft {
	return Draft{Patient: p.patient, User: p.c.User(), Started: p.started, Saved: p.c.Now(),
		History: p.fields[0].Value(), Examination: p.fields[1].Value(), Plan: p.fields[2].Value(),
		BP: p.fields[3].Value(), Weight: p.fields[4].Value(), HbA1c: p.fields[5].Value(), Codes: p.codes, Type: p.ctype}
}

// flushDraft writes the draft now (on quit).
func (p *consultPage) flushDraft() tea.Cmd {
	if p.c.DataDir == "" || p.empty() {
		return nil
	}
	d, path, g := p.draft(), p.draftPath(), p.drafts
	return func() tea.Msg { _ = g.write(path, d); return nil }
}

func (p *consultPage) changed() tea.Cmd {
	p.discard = false // a discard must be asked twice in a row
	p.confirm, p.armed = "", false
	p.rev = nextRev()
	rev := p.rev
	return tea.Tick(draftDebounce, func(time.Time) tea.Msg { return draftTickMsg{rev} })
}

func (p *consultPage) Back() (bool, tea.Cmd) {
	if p.picker != nil {
		p.picker = nil
		return true, nil
	}
	if p.offer != nil {
		return true, nil // answer the offer first
	}
	// Leaving keeps the draft on disk; it is offered back next time.
	if !p.empty() {
		return false, tea.Batch(p.flushDraft(), notice("draft kept: it is offered back when you next consult with this patient", false))
	}
	return false, nil
}

func (p *consultPage) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case initMsg:
		if p.c.DataDir == "" {
			p.checked = true
			return nil
		}
		path := p.draftPath()
		return func() tea.Msg {
			d, err := readDraft(path)
			if err != nil {
				return draftFoundMsg{}
			}
			return draftFoundMsg{draft: d}
		}
	case draftFoundMsg:
		p.checked = true
		if msg.draft != nil {
			p.offer = msg.draft
		}
		return nil
	case draftTickMsg:
		if msg.rev != p.rev || p.c.DataDir == "" {
			return nil
		}
		d, path, rev, g := p.draft(), p.draftPath(), msg.rev, p.drafts
		return func() tea.Msg {
			err := g.write(path, d)
			return draftSavedMsg{rev: rev, err: err, at: d.Saved}
		}
	case draftSavedMsg:
		if msg.err != nil {
			p.err = "could not save the draft: " + msg.err.Error()
			return nil
		}
		if msg.rev == p.rev {
			p.savedRev, p.savedAt = msg.rev, msg.at
		}
		return nil
	case consultSavedMsg:
		if msg.rev != p.saveRev {
			return nil
		}
		p.saving = false
		if clinical.IsConfirmable(msg.err) {
			p.confirm, p.armed, p.err = msg.err.Error(), false, ""
			p.confirmRev = nextRev()
			rev := p.confirmRev
			return tea.Tick(AlertGrace, func(time.Time) tea.Msg { return confirmArmedMsg{rev} })
		}
		if msg.err != nil {
			p.err = msg.err.Error()
			return nil
		}
		path, id, g := p.draftPath(), p.patient, p.drafts
		return tea.Batch(func() tea.Msg { g.remove(path); return nil },
			func() tea.Msg { return popMsg{then: savedMsg{patientID: id}} },
			notice("Consultation saved", false))
	case confirmArmedMsg:
		if msg.rev == p.confirmRev && p.confirm != "" {
			p.armed = true
		}
		return nil
	case legacyMappedMsg:
		if p.picker == nil || msg.rev != p.picker.rev {
			return nil
		}
		if msg.err != nil {
			p.picker.err = msg.err
			return nil
		}
		uri, _ := record.SystemURI(msg.sys)
		sct, _ := record.SystemURI("sct")
		p.codes = append(p.codes, record.CodedEntry{Code: record.Code{System: uri, Code: msg.hit.Code, Display: msg.hit.Term},
			Mapped: &record.Code{System: sct, Code: msg.maps[0].Code, Display: msg.maps[0].Term}})
		p.picker = nil
		return p.changed()
	case pickerResultsMsg:
		if p.picker != nil && msg.rev == p.picker.rev {
			p.picker.codes, p.picker.err, p.picker.sel, p.picker.shown = msg.codes, msg.err, 0, msg.rev
			if p.picker.pending {
				p.picker.pending = false
				return p.pick()
			}
		}
		return nil
	case actionMsg:
		return p.action(msg)
	case tea.KeyPressMsg, tea.PasteMsg:
		if p.offer != nil {
			return nil
		}
		if p.picker != nil {
			return p.pickerKey(msg)
		}
		if p.fields[p.focus].Update(msg) {
			p.err = ""
			return p.changed()
		}
	}
	return nil
}

func (p *consultPage) action(a actionMsg) tea.Cmd {
	if p.offer != nil {
		switch a.Name {
		case "open":
			d := p.offer
			p.offer = nil
			for i, v := range []string{d.History, d.Examination, d.Plan, d.BP, d.Weight, d.HbA1c} {
				p.fields[i].SetValue(v)
			}
			p.codes = d.Codes
			p.started = d.Started
			if d.Type != "" {
				p.ctype = d.Type
			}
			return tea.Batch(p.changed(), notice("draft restored", false))
		case "discard":
			p.offer = nil
			path := p.draftPath()
			return tea.Batch(func() tea.Msg { _ = os.Remove(path); return nil }, notice("draft discarded", false))
		}
		return nil
	}
	if p.picker != nil {
		switch a.Name {
		case "open":
			if p.picker.shown != p.picker.rev {
				p.picker.pending = true
				return nil
			}
			return p.pick()
		case "next-field":
			p.picker.system = (p.picker.system + 1) % len(pickerSystems)
			return p.searchCodes()
		case "prev-field":
			p.picker.system = (p.picker.system + len(pickerSystems) - 1) % len(pickerSystems)
			return p.searchCodes()
		}
		return p.pickerKey(a.Key)
	}
	switch a.Name {
	case "next-field", "prev-field":
		p.fields[p.focus].Blur()
		d := 1
		if a.Name == "prev-field" {
			d = len(p.fields) - 1
		}
		p.focus = (p.focus + d) % len(p.fields)
		p.fields[p.focus].Focus()
	case "consult-type":
		for i, t := range record.ConsultationTypes {
			if t == p.ctype {
				p.ctype = record.ConsultationTypes[(i+1)%len(record.ConsultationTypes)]
				break
			}
		}
		return p.changed()
	case "add-code":
		p.picker = &picker{input: Field{Label: "Code"}}
		p.picker.input.Focus()
	case "remove-code":
		if len(p.codes) > 0 {
			p.codes = p.codes[:len(p.codes)-1]
			return p.changed()
		}
	case "discard":
		if !p.discard {
			p.discard = true
			return notice("press "+a.Key.String()+" again to discard this consultation", true)
		}
		path, g := p.draftPath(), p.drafts
		p.rev, p.savedRev = 0, 0
		return tea.Batch(func() tea.Msg { g.remove(path); return nil },
			func() tea.Msg { return popMsg{} }, notice("consultation discarded", false))
	case "save":
		if p.confirm != "" && !p.armed {
			return nil // the grace period: a save typed ahead confirms nothing
		}
		return p.save()
	case "open":
		// enter in a multi-line field is a new line
		if p.fields[p.focus].Update(a.Key) {
			return p.changed()
		}
	default:
		if a.Key.Code != 0 && p.fields[p.focus].Update(a.Key) {
			return p.changed()
		}
	}
	return nil
}

func (p *consultPage) pickerKey(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "down", "ctrl+n":
			p.picker.sel = min(p.picker.sel+1, max(0, len(p.picker.codes)-1))
			return nil
		case "up", "ctrl+p":
			p.picker.sel = max(0, p.picker.sel-1)
			return nil
		}
	}
	if p.picker.input.Update(msg) {
		return p.searchCodes()
	}
	return nil
}

// searchCodes runs the picker's query in a command.
func (p *consultPage) searchCodes() tea.Cmd {
	pk := p.picker
	pk.rev = nextRev()
	rev, q, sys, terms := pk.rev, strings.TrimSpace(pk.input.Value()), pickerSystems[pk.system].short, p.c.Terms
	ctx := p.c.Ctx
	return func() tea.Msg {
		if terms == nil {
			return pickerResultsMsg{rev: rev, err: errors.New("no terminology available")}
		}
		if q == "" {
			return pickerResultsMsg{rev: rev}
		}
		if sys != "sct" && looksLegacy(q) {
			// A legacy code typed as such: show what it maps to (a word
			// that only looks like a code falls through to the term search).
			ms, err := terms.MapLegacy(sys, q)
			if err == nil && len(ms) > 0 {
				var out []Code
				for _, m := range ms {
					out = append(out, Code{System: sys + "|" + q, Code: m.Code, Term: m.Term})
				}
				return pickerResultsMsg{rev: rev, codes: out}
			}
		}
		ecl := ""
		if sys == "sct" {
			ecl = consultECL
		}
		picker := ""
		if sys == "sct" {
			picker = "consultation"
		}
		cs, err := terms.Search(ctx, q, picker, sys, ecl, 30)
		return pickerResultsMsg{rev: rev, codes: cs, err: err}
	}
}

// pick adds the selected code; a legacy code is recorded with its SNOMED mapping.
func (p *consultPage) pick() tea.Cmd {
	pk := p.picker
	if pk.sel >= len(pk.codes) {
		return nil
	}
	hit := pk.codes[pk.sel]
	sys := pickerSystems[pk.system].short
	if sys == "sct" {
		uri, _ := record.SystemURI("sct")
		p.codes = append(p.codes, record.CodedEntry{Code: record.Code{System: uri, Code: hit.Code, Display: hit.Term}})
		if p.c.Terms != nil {
			p.c.Terms.Picked(hit.Code)
		}
		p.picker = nil
		return p.changed()
	}
	// Legacy: either the mapping row of a typed code, or a legacy search hit to map now.
	if legacy, code, ok := strings.Cut(hit.System, "|"); ok {
		uri, _ := record.SystemURI(legacy)
		sct, _ := record.SystemURI("sct")
		p.codes = append(p.codes, record.CodedEntry{Code: record.Code{System: uri, Code: code},
			Mapped: &record.Code{System: sct, Code: hit.Code, Display: hit.Term}})
		p.picker = nil
		return p.changed()
	}
	// A legacy search hit: its mapping is looked up in a command.
	terms, rev := p.c.Terms, pk.rev
	return func() tea.Msg {
		ms, err := terms.MapLegacy(sys, hit.Code)
		if err == nil && len(ms) == 0 {
			err = errors.New("no SNOMED CT mapping for " + sys + " " + hit.Code)
		}
		return legacyMappedMsg{rev: rev, sys: sys, hit: hit, maps: ms, err: err}
	}
}

type legacyMappedMsg struct {
	rev  uint64
	sys  string
	hit  Code
	maps []Code
	err  error
}

// input builds the one write; structured values are checked first.
func (p *consultPage) input() (clinical.ConsultInput, error) {
	sct, _ := record.SystemURI("sct")
	in := clinical.ConsultInput{PatientRef: p.patient, Type: p.ctype, Start: p.started, End: p.c.Now(),
		History: strings.TrimSpace(p.fields[0].Value()), Examination: strings.TrimSpace(p.fields[1].Value()),
		Plan: strings.TrimSpace(p.fields[2].Value()), Codes: p.codes}
	if bp := strings.TrimSpace(p.fields[3].Value()); bp != "" {
		s, d, err := clinical.ParseBP(bp)
		if err != nil {
			return in, err
		}
		in.Obs = append(in.Obs, clinical.ObsInput{Code: record.Code{System: sct, Code: codeBP, Display: "Blood pressure"},
			Systolic: &s, Diastolic: &d, Unit: "mm[Hg]"})
	}
	// Ranges and units are the service's (one validation on every path); the
	// page only reads the number.
	for _, x := range []struct {
		i          int
		code, name string
		unit       string
	}{{4, codeWeight, "Body weight", "kg"}, {5, codeHbA1c, "HbA1c", "mmol/mol"}} {
		v := strings.TrimSpace(p.fields[x.i].Value())
		if v == "" {
			continue
		}
		n := strings.TrimSpace(strings.TrimSuffix(v, x.unit))
		f, err := strconv.ParseFloat(n, 64)
		switch {
		case err != nil && strings.Contains(n, ","):
			return in, record.Invalid(strings.ToLower(x.name), v, "use a decimal point, not a comma")
		case err != nil:
			return in, record.Invalid(strings.ToLower(x.name), v, "must be a number in %s", x.unit)
		}
		in.Obs = append(in.Obs, clinical.ObsInput{Code: record.Code{System: sct, Code: x.code, Display: x.name}, Value: &f, Unit: x.unit})
	}
	if in.History == "" && in.Examination == "" && in.Plan == "" && len(in.Codes) == 0 && len(in.Obs) == 0 {
		return in, errors.New("nothing to save: write something or add a code")
	}
	return in, nil
}

func (p *consultPage) save() tea.Cmd {
	if p.saving {
		return nil
	}
	in, err := p.input()
	if err != nil {
		p.err = err.Error()
		return nil
	}
	in.Confirm = p.confirm != "" && p.armed
	p.saving = true
	p.saveRev = nextRev()
	rev, c := p.saveRev, p.c
	// The draft is on disk before the write and stays until it has
	// succeeded (written first, so its removal cannot overtake it).
	flush := p.flushDraft()
	return func() tea.Msg {
		if flush != nil {
			flush()
		}
		res, err := c.Svc.AddConsultation(c.Ctx, in)
		return consultSavedMsg{rev: rev, res: res, err: err}
	}
}

func (p *consultPage) View(w, h int) []string {
	st := p.c.Styles
	var out []string
	if p.rec != nil && p.rec.data != nil {
		out = banner(p.c, p.rec.data.sum, w, p.rec.data.dueSlot()...)
	}
	if p.offer != nil {
		d := p.offer
		out = append(out, "", st.Warn.Render("A draft of a consultation with this patient was kept (last typed "+DateTime(d.Saved)+")."))
		prev := strings.TrimSpace(strings.Join([]string{d.History, d.Examination, d.Plan}, " / "))
		for _, l := range wrap(prev, w-4) {
			out = append(out, "  "+st.Muted.Render(l))
		}
		out = append(out, "", st.Key.Render(p.c.Keys.Key("global", "open"))+" restore it   "+
			st.Key.Render(p.c.Keys.Key("consult", "discard"))+" discard it")
		return out
	}
	if p.picker != nil {
		return append(out, p.pickerView(w, h-len(out))...)
	}
	out = append(out, st.Muted.Render("Type: ")+consultTypeLabel(p.ctype)+st.Muted.Render("  ("+p.c.Keys.Key("consult", "consult-type")+" changes it)"))
	for _, f := range p.fields[:3] {
		out = append(out, f.View(w, st)...)
	}
	third := w / 3
	row := fit(strings.Join(p.fields[3].View(third, st), ""), third) + fit(strings.Join(p.fields[4].View(third, st), ""), third) +
		strings.Join(p.fields[5].View(w-2*third, st), "")
	out = append(out, row)
	out = append(out, st.Heading.Render("Coded entries")+st.Muted.Render("  "+p.c.Keys.Key("consult", "add-code")+" add  "+
		p.c.Keys.Key("consult", "remove-code")+" remove last"))
	if len(p.codes) == 0 {
		out = append(out, st.Muted.Render("  none"))
	}
	for _, e := range p.codes {
		line := "  • " + clinical.CodeText(e.Code) + st.Muted.Render(" ("+record.SystemShort(e.Code.System)+" "+e.Code.Code+")")
		if e.Mapped != nil {
			line += st.Muted.Render(" → sct " + e.Mapped.Code + " " + e.Mapped.Display)
		}
		out = append(out, line)
	}
	status := ""
	switch {
	case p.confirm != "":
		out = append(out, st.Alert.Render(p.confirm))
		status = st.Warn.Render("If it is right, press " + p.c.Keys.Key("consult", "save") +
			" again to keep it (it is flagged); otherwise correct it")
	case p.err != "":
		status = st.Alert.Render(p.err)
	case p.saving:
		status = st.Muted.Render("saving…")
	case !p.savedAt.IsZero() && !p.dirty():
		status = st.Muted.Render("draft saved " + p.savedAt.In(UK).Format("15:04:05"))
	}
	return append(out, status)
}

func (p *consultPage) pickerView(w, h int) []string {
	st := p.c.Styles
	pk := p.picker
	var tabs []string
	for i, s := range pickerSystems {
		if i == pk.system {
			tabs = append(tabs, st.Selected.Render(s.label))
		} else {
			tabs = append(tabs, st.Muted.Render(s.label))
		}
	}
	out := []string{st.Heading.Render("Add a coded entry") + "  " + strings.Join(tabs, " ") +
		st.Muted.Render("  "+p.c.Keys.Key("consult", "next-field")+" system")}
	out = append(out, pk.input.View(w, st)...)
	if pk.err != nil {
		out = append(out, st.Alert.Render(pk.err.Error()))
	}
	if pk.system == 0 {
		out = append(out, st.Muted.Render("findings, procedures, situations and observables"))
	} else {
		out = append(out, st.Muted.Render("type a term or a code (e.g. C10F.): recorded with its SNOMED CT concept"))
	}
	for i, c := range pk.codes {
		if len(out) >= h {
			break
		}
		line := fit(c.Code, 19) + c.Term
		if i == pk.sel {
			out = append(out, st.Selected.Render(fit("› "+line, w)))
		} else {
			out = append(out, "  "+line)
		}
	}
	return out
}

// consultTypeLabel is how a consultation type reads on screen.
func consultTypeLabel(t string) string {
	if t == "home" {
		return "home visit"
	}
	return t
}

// todaysMode is the consultation type today's appointment with this patient
// suggests (a telephone appointment is a telephone consultation); surgery
// when there is none.
func todaysMode(c *Common, rec *recordPage) string {
	if rec == nil || rec.data == nil {
		return "surgery"
	}
	today := c.Now().In(UK).Format(record.DateLayout)
	for _, a := range rec.data.appts {
		if a.Start.In(UK).Format(record.DateLayout) != today || (a.Status != "booked" && a.Status != "arrived" && a.Status != "seen") {
			continue
		}
		switch a.Mode {
		case "telephone", "video", "home":
			return a.Mode
		}
		return "surgery"
	}
	return "surgery"
}
