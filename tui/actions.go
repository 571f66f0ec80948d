package tui

import (
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// Record actions from the keyboard: each opens a small form over the record
// (fields, a code search where a code is needed, a choice where an entry of
// the record is meant), and its save key makes the same service call as the
// subcommand of the same name: allergy add / --nkda / resolve, problem add /
// resolve, med stop, task add, recall add, entry retract. Nothing is written
// until the save key; esc closes the form.

type fieldKind int

const (
	textField fieldKind = iota
	codeField
	choiceField
)

type choice struct{ id, label string }

type formField struct {
	kind     fieldKind
	in       Field
	optional bool
	ecl      string // a code field's hierarchy
	picker   string // a code field's ranking (terminology pickers)
	codes    []Code
	sel      int
	rev      uint64
	choices  []choice // a choice field's options (up/down moves)
}

func (f *formField) value() string {
	switch f.kind {
	case codeField:
		if f.sel < len(f.codes) {
			return f.codes[f.sel].Code
		}
		return ""
	case choiceField:
		if f.sel < len(f.choices) {
			return f.choices[f.sel].id
		}
		return ""
	}
	return strings.TrimSpace(f.in.Value())
}

type recordForm struct {
	title  string
	fields []*formField
	focus  int
	call   func(vals []string) (string, error) // the service call
	rev    uint64
	err    string
}

type formCodesMsg struct {
	rev   uint64
	codes []Code
	err   error
}

type formDoneMsg struct {
	rev uint64
	say string
	err error
}

func text(label string, optional bool) *formField {
	return &formField{kind: textField, in: Field{Label: label}, optional: optional}
}

// code is a coded field searched in ecl, ranked for picker (terminology's pickers:
// "problem", "consultation", "drug" or "").
func code(label, ecl, picker string) *formField {
	return &formField{kind: codeField, in: Field{Label: label + " (type to search)"}, ecl: ecl, picker: picker}
}

func prefilled(f *formField, v string) *formField {
	f.in.SetValue(v)
	return f
}

func pick(label string, cs []choice) *formField {
	return &formField{kind: choiceField, in: Field{Label: label}, choices: cs}
}

// The hierarchies a code field searches: a problem is a finding, disorder,
// situation, event or procedure; an allergy agent a substance, a product or
// an allergy finding; a recall a procedure or regime.
const (
	problemECL = "<< 404684003 OR << 243796009 OR << 272379006 OR << 71388002"
	agentECL   = "<< 105590001 OR << 373873005 OR << 420134006"
	recallECL  = "<< 71388002 OR << 243796009"
)

// formAction opens the form of a record action, or says why it cannot.
func (p *recordPage) formAction(name string) (tea.Cmd, bool) {
	d := p.data
	var f *recordForm
	pid := ""
	if d != nil {
		pid = d.sum.Patient.ID
	}
	svc, ctx := p.c.Svc, p.c.Ctx
	switch name {
	case "change-dose":
		return p.changeDose(), true
	case "add-allergy":
		f = &recordForm{title: "Record an allergy", fields: []*formField{code("Causative agent or allergy", agentECL, ""), text("Reaction", true),
			pick("Severity", []choice{{"", "not given"}, {"mild", "mild"}, {"moderate", "moderate"}, {"severe", "severe"}}),
			pick("Type", []choice{{"allergy", "allergy"}, {"intolerance", "intolerance"}})},
			call: func(v []string) (string, error) {
				a, err := svc.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, System: "sct", Code: v[0], Reaction: v[1], Severity: v[2], Type: v[3]})
				if err != nil {
					return "", err
				}
				return "Allergy recorded: " + clinical.CodeText(a.Agent), nil
			}}
	case "nkda":
		f = &recordForm{title: "Record no known drug allergy", call: func([]string) (string, error) {
			_, err := svc.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, NKDA: true})
			return "No known drug allergy recorded", err
		}}
	case "resolve-allergy":
		var cs []choice
		if d != nil {
			for _, a := range d.allergies {
				if a.Status == "active" && !a.NKDA {
					cs = append(cs, choice{a.ID, clinical.CodeText(a.Agent)})
				}
			}
		}
		if len(cs) == 0 {
			return notice("no active allergy to resolve", true), true
		}
		f = &recordForm{title: "Resolve (de-label) an allergy", fields: []*formField{pick("Allergy", cs), text("Why it is no longer believed", false)},
			call: func(v []string) (string, error) {
				_, err := svc.ResolveAllergy(ctx, pid, v[0], v[1], "", 0)
				return "Allergy resolved", err
			}}
	case "add-problem":
		f = &recordForm{title: "Add a problem", fields: []*formField{code("Problem", problemECL, "problem"),
			pick("Significance", []choice{{"major", "major"}, {"minor", "minor"}}), text("Onset YYYY-MM-DD", true)},
			call: func(v []string) (string, error) {
				pr, err := svc.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, System: "sct", Code: v[0], Significance: v[1], Onset: v[2]})
				if err != nil {
					return "", err
				}
				return "Problem added: " + clinical.CodeText(pr.Code), nil
			}}
	case "resolve-problem":
		var cs []choice
		if d != nil {
			for _, x := range d.problems {
				if x.Status == "active" {
					cs = append(cs, choice{x.ID, clinical.CodeText(x.Code)})
				}
			}
		}
		if len(cs) == 0 {
			return notice("no active problem to resolve", true), true
		}
		f = &recordForm{title: "Resolve a problem", fields: []*formField{pick("Problem", cs), text("Resolved on YYYY-MM-DD (default today)", true)},
			call: func(v []string) (string, error) {
				_, err := svc.ResolveProblem(ctx, pid, v[0], v[1], 0)
				return "Problem resolved", err
			}}
	case "problem-significance":
		var cs []choice
		if d != nil {
			for _, x := range d.problems {
				if x.Status == "active" {
					cs = append(cs, choice{x.ID, x.Significance + "  " + clinical.CodeText(x.Code)})
				}
			}
		}
		if len(cs) == 0 {
			return notice("no active problem", true), true
		}
		f = &recordForm{title: "Change a problem's significance", fields: []*formField{pick("Problem", cs),
			pick("Significance", []choice{{"major", "major"}, {"minor", "minor"}})},
			call: func(v []string) (string, error) {
				_, err := svc.SetProblemSignificance(ctx, pid, v[0], v[1], 0)
				return "Problem marked " + v[1], err
			}}
	case "make-problem":
		// A coded entry of a consultation becomes a problem, from the date of
		// that consultation (the newest entries first).
		active := map[string]bool{}
		var cs []choice
		if d != nil {
			for _, x := range d.problems {
				if x.Status == "active" {
					active[x.Code.Code] = true
				}
			}
			for _, c := range d.consults {
				for _, e := range c.Entries {
					code := e.Code
					if e.Mapped != nil {
						code = *e.Mapped
					}
					if code.System != record.SystemSNOMED || active[code.Code] {
						continue
					}
					active[code.Code] = true
					cs = append(cs, choice{code.Code + "|" + c.Start.In(UK).Format(record.DateLayout), DateOf(c.Start) + "  " + clinical.CodeText(code)})
				}
			}
		}
		if len(cs) == 0 {
			return notice("no coded entry that is not already a problem", true), true
		}
		f = &recordForm{title: "Make a coded entry a problem", fields: []*formField{pick("Coded entry", cs),
			pick("Significance", []choice{{"minor", "minor"}, {"major", "major"}})},
			call: func(v []string) (string, error) {
				code, onset, _ := strings.Cut(v[0], "|")
				pr, err := svc.AddProblem(ctx, clinical.ProblemInput{PatientRef: pid, System: "sct", Code: code, Onset: onset, Significance: v[1]})
				if err != nil {
					return "", err
				}
				return "Problem added: " + clinical.CodeText(pr.Code), nil
			}}
	case "stop-medication":
		var cs []choice
		if d != nil {
			for _, m := range p.medOrder() {
				if m.Status == "active" {
					cs = append(cs, choice{m.ID, clinical.CodeText(m.Code) + "  " + m.Dose})
				}
			}
		}
		if len(cs) == 0 {
			return notice("no current medication to stop", true), true
		}
		f = &recordForm{title: "Stop a medication", fields: []*formField{pick("Medication", cs), text("Reason", false)},
			call: func(v []string) (string, error) {
				_, err := svc.Stop(ctx, pid, v[0], v[1], 0)
				return "Medication stopped", err
			}}
	case "add-task":
		f = &recordForm{title: "Add a task about this patient", fields: []*formField{text("Task", false), text("Due YYYY-MM-DD (default today)", true), text("For user (default anyone)", true)},
			call: func(v []string) (string, error) {
				_, err := svc.AddTask(ctx, clinical.TaskInput{PatientRef: pid, Text: v[0], Due: v[1], To: v[2]})
				return "Task added", err
			}}
	case "add-recall":
		f = &recordForm{title: "Add a recall", fields: []*formField{code("Recall for", recallECL, "consultation"), text("Due YYYY-MM-DD", false)},
			call: func(v []string) (string, error) {
				_, err := svc.AddRecall(ctx, clinical.RecallInput{PatientRef: pid, System: "sct", Code: v[0], Due: v[1]})
				return "Recall added", err
			}}
	case "retract":
		cs := p.retractable()
		if len(cs) == 0 {
			return notice("nothing in this section to retract", true), true
		}
		f = &recordForm{title: "Retract an entry made in error", fields: []*formField{pick("Entry", cs), text("Why it was entered in error", false)},
			call: func(v []string) (string, error) {
				_, err := svc.Retract(ctx, v[0], v[1], 0)
				return "Entry retracted", err
			}}
	case "edit-patient":
		if d == nil {
			break
		}
		pt := d.sum.Patient
		lines := []string{"", ""}
		town := ""
		if pt.Address != nil {
			copy(lines, pt.Address.Lines)
			town = pt.Address.Town
		}
		sexes := []choice{{"female", "female"}, {"male", "male"}, {"other", "other"}, {"unknown", "unknown"}}
		sex := pick("Sex", sexes)
		for i, c := range sexes {
			if c.id == pt.Sex {
				sex.sel = i
			}
		}
		f = &recordForm{title: "Change " + pt.Name() + "'s details", fields: []*formField{
			prefilled(text("Family name", false), pt.Family), prefilled(text("Given names", false), strings.Join(pt.Given, " ")),
			prefilled(text("Date of birth YYYY-MM-DD", false), pt.BirthDate), sex,
			prefilled(text("Address line 1", true), lines[0]), prefilled(text("Address line 2", true), lines[1]),
			prefilled(text("Town", true), town), prefilled(text("Postcode", true), pt.Postcode), prefilled(text("Phone", true), pt.Phone)},
			call: func(v []string) (string, error) {
				given := strings.Fields(v[1])
				u := clinical.PatientUpdate{IfVersion: pt.Version, Family: &v[0], Given: &given, BirthDate: &v[2], Sex: &v[3], Postcode: &v[7], Phone: &v[8],
					Mutate: func(p *record.Patient) error {
						var ls []string
						for _, l := range v[4:6] {
							if l != "" {
								ls = append(ls, l)
							}
						}
						a := record.Address{}
						if p.Address != nil {
							a = *p.Address
						}
						a.Lines, a.Town = ls, v[6]
						p.Address = &a
						if len(ls) == 0 && a.Town == "" && a.County == "" && a.Country == "" {
							p.Address = nil
						}
						return nil
					}}
				_, err := svc.UpdatePatient(ctx, pid, u)
				return "Details saved", err
			}}
	case "flag":
		if d == nil {
			break
		}
		var cs []choice
		for _, fl := range d.sum.Patient.Flags {
			cs = append(cs, choice{"-" + fl, "remove: " + fl})
		}
		for _, fl := range record.KnownFlags {
			if !d.sum.Patient.HasFlag(fl) {
				cs = append(cs, choice{"+" + fl, "add: " + fl})
			}
		}
		f = &recordForm{title: "Warning flags", fields: []*formField{pick("Flag", cs)},
			call: func(v []string) (string, error) {
				on := strings.HasPrefix(v[0], "+")
				_, err := svc.SetFlag(ctx, pid, v[0][1:], on, 0)
				if on {
					return "Flag added: " + v[0][1:], err
				}
				return "Flag removed: " + v[0][1:], err
			}}
	case "complete":
		var cs []choice
		if d != nil {
			for _, t := range d.tasks {
				if t.Status == "open" {
					cs = append(cs, choice{"task:" + t.ID, "task  " + Date(t.Due) + "  " + t.Text})
				}
			}
			for _, r := range d.recalls {
				if r.Status == "open" {
					cs = append(cs, choice{"recall:" + r.ID, "recall  " + Date(r.Due) + "  " + clinical.CodeText(r.Code)})
				}
			}
		}
		if len(cs) == 0 {
			return notice("no open task or recall for this patient", true), true
		}
		f = &recordForm{title: "Complete a task or recall", fields: []*formField{pick("Task or recall", cs)},
			call: func(v []string) (string, error) {
				kind, id, _ := strings.Cut(v[0], ":")
				if kind == "task" {
					_, err := svc.DoneTask(ctx, id, 0)
					return "Task done", err
				}
				_, err := svc.DoneRecall(ctx, id, 0)
				return "Recall done", err
			}}
	default:
		return nil, false
	}
	switch {
	case d == nil || f == nil:
		return notice("the record is still loading", true), true
	case d.denied != "" && name != "add-task" && name != "edit-patient" && name != "flag" && name != "complete":
		return notice(d.denied, true), true
	}
	p.form = f
	if len(f.fields) > 0 {
		f.fields[0].in.Focus()
	}
	return nil, true
}

// retractable is what the retract form offers: the entries of the section
// on screen (the journal's consultations, problems, results, allergies…).
func (p *recordPage) retractable() []choice {
	d := p.data
	var cs []choice
	if d == nil {
		return nil
	}
	switch p.section {
	case "journal", "summary":
		for _, c := range d.consults {
			cs = append(cs, choice{c.ID, DateOf(c.Start) + "  consultation  " + cut(strings.ReplaceAll(c.Text, "\n", " "), 40)})
		}
	case "problems":
		for _, x := range d.problems {
			cs = append(cs, choice{x.ID, clinical.CodeText(x.Code)})
		}
	case "results":
		for _, o := range d.obs {
			cs = append(cs, choice{o.ID, DateOf(o.Effective) + "  " + shortTerm(o.Code) + "  " + obsValue(o)})
		}
	case "allergies":
		for _, a := range d.allergies {
			cs = append(cs, choice{a.ID, clinical.CodeText(a.Agent)})
		}
	case "medication":
		for _, m := range p.medOrder() {
			cs = append(cs, choice{m.ID, clinical.CodeText(m.Code)})
		}
	case "immunisations":
		for _, x := range d.imms {
			cs = append(cs, choice{x.ID, Date(x.Date) + "  " + clinical.CodeText(x.Code)})
		}
	}
	return cs
}

// formUpdate takes the keys and results while a form is open; a save that
// went through closes it and reloads the record.
func (p *recordPage) formUpdate(msg tea.Msg) tea.Cmd {
	cmd, done := p.form.update(p.c, msg)
	if done != nil {
		p.form = nil
		return tea.Batch(p.load(), notice(done.say, false))
	}
	return cmd
}

// update takes the keys and results while the form is open. done is the
// answer of a save that went through (the owner closes the form).
func (f *recordForm) update(c *Common, msg tea.Msg) (cmd tea.Cmd, done *formDoneMsg) {
	cur := func() *formField {
		if f.focus < len(f.fields) {
			return f.fields[f.focus]
		}
		return nil
	}
	switch msg := msg.(type) {
	case formCodesMsg:
		for _, ff := range f.fields {
			if ff.kind == codeField && ff.rev == msg.rev {
				ff.codes, ff.sel = msg.codes, 0
				if msg.err != nil {
					f.err = msg.err.Error()
				}
			}
		}
	case formDoneMsg:
		if msg.rev != f.rev {
			return nil, nil
		}
		if msg.err != nil {
			f.err, f.rev = msg.err.Error(), 0
			return nil, nil
		}
		return nil, &msg
	case actionMsg:
		ff := cur()
		switch msg.Name {
		case "save":
			return f.submit(c), nil
		case "next-chart", "open", "next-view": // tab, enter: the next field
			f.focus = min(f.focus+1, max(0, len(f.fields)-1))
			f.focusField()
		case "down", "up":
			if ff != nil && ff.kind != textField {
				n := len(ff.codes)
				if ff.kind == choiceField {
					n = len(ff.choices)
				}
				if msg.Name == "down" {
					ff.sel = min(ff.sel+1, max(0, n-1))
				} else {
					ff.sel = max(0, ff.sel-1)
				}
			}
		default:
			if msg.Key.Code != 0 {
				return f.key(c, msg.Key), nil
			}
		}
	case tea.PasteMsg:
		return f.key(c, msg), nil
	case tea.KeyPressMsg:
		if msg.String() == "shift+tab" {
			f.focus = max(0, f.focus-1)
			f.focusField()
			return nil, nil
		}
		return f.key(c, msg), nil
	}
	return nil, nil
}

// textFocus reports whether the focused field takes printable keys as text.
func (f *recordForm) textFocus() bool {
	return f.focus < len(f.fields) && f.fields[f.focus].kind != choiceField
}

func (f *recordForm) focusField() {
	for i, ff := range f.fields {
		if i == f.focus {
			ff.in.Focus()
		} else {
			ff.in.Blur()
		}
	}
}

// key types into the focused field; a code field searches as it changes.
func (f *recordForm) key(c *Common, k tea.Msg) tea.Cmd {
	if f.focus >= len(f.fields) {
		return nil
	}
	ff := f.fields[f.focus]
	if ff.kind == choiceField || !ff.in.Update(k) {
		return nil
	}
	if ff.kind != codeField {
		return nil
	}
	ff.rev = nextRev()
	rev, q, ecl, picker, terms, ctx := ff.rev, strings.TrimSpace(ff.in.Value()), ff.ecl, ff.picker, c.Terms, c.Ctx
	return func() tea.Msg {
		if terms == nil {
			return formCodesMsg{rev: rev, err: errors.New("no terminology available")}
		}
		if q == "" {
			return formCodesMsg{rev: rev}
		}
		cs, err := terms.Search(ctx, q, picker, "sct", ecl, 8)
		return formCodesMsg{rev: rev, codes: cs, err: err}
	}
}

// submit checks that what is required is given, then makes the call.
func (f *recordForm) submit(c *Common) tea.Cmd {
	if f.rev != 0 {
		return nil // already saving: a second save key must not write twice
	}
	vals := make([]string, len(f.fields))
	for i, ff := range f.fields {
		vals[i] = ff.value()
		if vals[i] == "" && !ff.optional && ff.kind != choiceField {
			f.err = strings.TrimSuffix(ff.in.Label, " (type to search)") + ": required"
			if ff.kind == codeField {
				f.err += " (type, then pick a code with up/down)"
			}
			return nil
		}
	}
	for i, ff := range f.fields {
		if ff.kind == codeField && c.Terms != nil && vals[i] != "" {
			c.Terms.Picked(vals[i]) // rises in this user's later searches
		}
	}
	f.rev, f.err = nextRev(), ""
	rev, call := f.rev, f.call
	return func() tea.Msg {
		say, err := call(vals)
		return formDoneMsg{rev: rev, say: say, err: err}
	}
}

// formLines draws the open form.
func (p *recordPage) formLines(w int) []string { return p.form.lines(p.c, w) }

func (f *recordForm) lines(c *Common, w int) []string {
	st := c.Styles
	out := []string{st.Heading.Render(f.title)}
	for i, ff := range f.fields {
		mark := "  "
		if i == f.focus {
			mark = "› "
		}
		switch ff.kind {
		case choiceField:
			out = append(out, mark+st.Muted.Render(ff.in.Label+":"))
			for j, c := range ff.choices {
				line := "    " + cut(c.label, max(10, w-6))
				if j == ff.sel {
					line = st.Selected.Render(fit("  › "+c.label, w))
				}
				out = append(out, line)
			}
		case codeField:
			out = append(out, ff.in.View(w-2, st)...)
			for j, c := range ff.codes {
				line := "    " + fit(c.Code, 20) + cut(c.Term, max(10, w-26))
				if j == ff.sel {
					line = st.Selected.Render(fit("  › "+c.Code+"  "+c.Term, w))
				}
				out = append(out, line)
			}
			if strings.TrimSpace(ff.in.Value()) != "" && len(ff.codes) == 0 {
				out = append(out, st.Muted.Render("    no match"))
			}
		default:
			out = append(out, ff.in.View(w-2, st)...)
		}
	}
	if f.err != "" {
		out = append(out, st.Alert.Render(f.err))
	}
	if f.rev != 0 {
		out = append(out, st.Muted.Render("saving…"))
	}
	out = append(out, st.Key.Render(c.Keys.Key("global", "save"))+" save  "+st.Key.Render("tab")+" next field  "+
		st.Key.Render("up/down")+" choose  "+st.Key.Render("esc")+" cancel")
	return out
}
