// Package cohort runs population searches, disease registers and indicators
// written in the search language (docs/search.md): it parses a definition,
// expands its code sets once through the terminology, and evaluates it over a
// compact per-patient index with set operations on patient bitmaps. An
// explanation re-evaluates one patient, rule by rule, with the entries that
// decided each rule.
package cohort

import (
	"strings"

	"github.com/opengpsoc/gpsoc/record"
)

// Kind is what a definition file defines.
type Kind string

// Definition kinds.
const (
	KindSearch    Kind = "search"
	KindRegister  Kind = "register"
	KindIndicator Kind = "indicator"
)

// Def is one parsed definition.
type Def struct {
	Kind        Kind
	ID          string // register or indicator id; a search's title
	IDPos       Pos
	Title       string
	File        string
	Source      string
	Reference   string // "" (today), "today", "qof-year-end" or a date
	Population  *Node
	Sets        []NamedSet
	Scores      []Score
	Select      *Node
	Denominator *Node
	Numerator   *Node
	Exceptions  *Node
	Shows       []*Node
	Notes       []string

	names  map[string]Pos
	scores []string
}

// NamedSet is `set NAME = EXPR`.
type NamedSet struct {
	Name string
	Pos  Pos
	Expr *Node
}

// Score is `score NAME = N if EXPR + ...`.
type Score struct {
	Name  string
	Pos   Pos
	Terms []ScoreTerm
}

// ScoreTerm is one `N if EXPR`.
type ScoreTerm struct {
	Points int
	Expr   *Node
}

// Op is a node's operation.
type Op int

// Node operations.
const (
	OpAnd Op = iota
	OpOr
	OpNot
	OpRegistered   // currently registered on R
	OpRegisteredIn // registration started in Period
	OpAll
	OpLeft
	OpDied
	OpAge
	OpSex
	OpHas
	OpValue
	OpMedCurrent
	OpMedIssued
	OpInRegister
	OpSetRef
	OpScore
)

// Node is an expression.
type Node struct {
	Op   Op
	Pos  Pos
	Text string // the source text of a criterion
	L, R *Node

	Name     string // sex value, set, score or register id
	Negate   bool   // has no code
	Which    string // has: "", first, latest; value: value, bp, systolic, diastolic
	Set      []SetTerm
	Resolved []SetTerm
	Period   *Period
	Cmp      string // < <= > >= = != between
	V1, V2   float64
	D1, D2   float64 // diastolic thresholds of a bp comparison
	Unit     string
}

// SetTerm is one part of a code set.
type SetTerm struct {
	Kind string // ecl, codelist, cluster, code, class
	Text string
	Pos  Pos
}

// Period is when an entry counts.
type Period struct {
	Kind     string // ever, within, before, after, between, ago
	N        int
	Unit     string // day, week, month, year
	From, To string
	Pos      Pos
}

// String is the parenthesised form of an expression, as explain prints it.
func (n *Node) String() string {
	if n == nil {
		return ""
	}
	switch n.Op {
	case OpAnd, OpOr:
		op := " and "
		if n.Op == OpOr {
			op = " or "
		}
		return "(" + n.L.String() + op + n.R.String() + ")"
	case OpNot:
		return "not " + n.L.String()
	}
	return n.Text
}

func setText(ts []SetTerm) string {
	var b []string
	for _, t := range ts {
		if t.Kind == "ecl" {
			b = append(b, "ecl \""+t.Text+"\"")
		} else {
			b = append(b, t.Kind+" "+t.Text)
		}
	}
	return strings.Join(b, " | ")
}

// Registers are the ids this definition names with `in register ID`, in order.
func (d *Def) Registers() []string {
	var out []string
	seen := map[string]bool{}
	var visit func(n *Node)
	visit = func(n *Node) {
		if n == nil {
			return
		}
		if n.Op == OpInRegister && !seen[n.Name] {
			seen[n.Name] = true
			out = append(out, n.Name)
		}
		visit(n.L)
		visit(n.R)
	}
	for _, n := range d.roots() {
		visit(n)
	}
	return out
}

// Kinds are the record kinds evaluating d reads (patients always), with
// those of the registers it names, as defs holds them: what a workstation
// fetches from a server that cannot run the search itself. A code criterion
// reads every coded entry (problems, consultations, observations,
// immunisations, allergies); a value, observations; a medicine criterion,
// medicines.
func (d *Def) Kinds(defs []*Def) []record.Kind {
	need := map[record.Kind]bool{}
	seen := map[string]bool{}
	var visit func(n *Node)
	var add func(x *Def)
	visit = func(n *Node) {
		if n == nil {
			return
		}
		switch n.Op {
		case OpHas:
			for _, k := range []record.Kind{record.KindProblem, record.KindConsultation, record.KindObservation,
				record.KindImmunisation, record.KindAllergy} {
				need[k] = true
			}
		case OpValue:
			need[record.KindObservation] = true
		case OpMedCurrent, OpMedIssued:
			need[record.KindMedication] = true
		case OpInRegister:
			if r, err := Find(defs, n.Name); err == nil && !seen[r.ID] {
				add(r)
			}
		}
		visit(n.L)
		visit(n.R)
	}
	add = func(x *Def) {
		seen[x.ID] = true
		for _, n := range x.roots() {
			visit(n)
		}
	}
	add(d)
	out := []record.Kind{record.KindPatient}
	for _, k := range kindOf { // a stable order
		if need[k] {
			out = append(out, k)
		}
	}
	return out
}

// roots are every expression of the definition.
func (d *Def) roots() []*Node {
	roots := []*Node{d.Population, d.Select, d.Denominator, d.Numerator, d.Exceptions}
	roots = append(roots, d.Shows...)
	for _, s := range d.Sets {
		roots = append(roots, s.Expr)
	}
	for _, s := range d.Scores {
		for _, t := range s.Terms {
			roots = append(roots, t.Expr)
		}
	}
	return roots
}
