// Package keymaps holds the workstation's keys as data: the embedded default
// keymap, a vim-style preset and the user's file merged over them, validated
// with errors that name the line. The same Keymap drives dispatch, the help
// footer, the `?` overlay, the command palette and the keys man page.
package keymaps

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

//go:embed vim.yaml
var vimYAML []byte

// Contexts in the order help shows them.
var Contexts = []string{"global", "find", "record", "consult", "prescribe", "book", "register", "registers", "tasks", "inbox"}

// Action is something a key can do.
type Action struct {
	Context string
	Name    string
	Help    string
	// Confirm actions commit a prescription or answer a safety alert: they
	// may not be bound to a single printable character, so type-ahead
	// cannot trigger them.
	Confirm bool
}

// Actions is every action, by context, in help order.
var Actions = []Action{
	{"global", "find", "find a patient", false},
	{"global", "open", "open the selection", false},
	{"global", "back", "back / close", false},
	{"global", "help", "show the keys of this screen", false},
	{"global", "palette", "command palette", false},
	{"global", "save", "save", false},
	{"global", "quit", "quit", false},
	{"global", "book", "appointment book", false},
	{"global", "inbox", "results inbox", false},
	{"global", "registers", "registers and indicators", false},
	{"global", "task-inbox", "task inbox: mine, for anyone, everyone's", false},
	{"find", "down", "next result", false},
	{"find", "up", "previous result", false},
	{"find", "page-down", "next page", false},
	{"find", "page-up", "previous page", false},
	{"find", "register-patient", "register a patient", false},
	{"record", "summary", "summary", false},
	{"record", "journal", "journal", false},
	{"record", "problems", "problems", false},
	{"record", "medication", "medication", false},
	{"record", "results", "results and trends", false},
	{"record", "allergies", "allergies", false},
	{"record", "immunisations", "immunisations", false},
	{"record", "appointments", "appointments", false},
	{"record", "tasks", "tasks and recalls", false},
	{"record", "history", "history of changes", false},
	{"record", "consult", "new consultation", false},
	{"record", "prescribe", "prescribe", false},
	{"record", "issue", "issue the selected repeat (ctrl+s confirms)", false},
	{"record", "reauthorise", "re-authorise the selected repeat (ctrl+s confirms)", false},
	{"record", "add-allergy", "record an allergy (ctrl+s saves)", false},
	{"record", "nkda", "record no known drug allergy (ctrl+s saves)", false},
	{"record", "resolve-allergy", "resolve (de-label) an allergy, with a reason", false},
	{"record", "add-problem", "add a problem", false},
	{"record", "resolve-problem", "resolve a problem", false},
	{"record", "problem-significance", "mark a problem major or minor", false},
	{"record", "make-problem", "make a coded entry of a consultation a problem", false},
	{"record", "stop-medication", "stop a medication, with a reason", false},
	{"record", "change-dose", "change the dose of the selected medication (checked as a new prescription)", false},
	{"record", "add-task", "add a task about this patient", false},
	{"record", "add-recall", "add a recall", false},
	{"record", "registers", "this patient's registers and indicators, each explained", false},
	{"record", "retract", "retract an entry of this section made in error, with a reason", false},
	{"record", "edit-patient", "change the patient's details (name, date of birth, sex, address, phone)", false},
	{"record", "flag", "add or remove a warning flag", false},
	{"record", "complete", "complete a task or recall of this patient", false},
	{"record", "down", "scroll down", false},
	{"record", "up", "scroll up", false},
	{"record", "page-down", "page down", false},
	{"record", "page-up", "page up", false},
	{"record", "next-chart", "next trend chart", false},
	{"consult", "next-field", "next field", false},
	{"consult", "prev-field", "previous field", false},
	{"consult", "add-code", "add a coded entry", false},
	{"consult", "remove-code", "remove the last coded entry", false},
	{"consult", "discard", "discard the draft", false},
	{"consult", "consult-type", "consultation type: surgery, telephone, video, home visit", false},
	{"prescribe", "confirm", "issue the prescription", true},
	{"prescribe", "down", "next", false},
	{"prescribe", "up", "previous", false},
	{"prescribe", "override", "override the alert (asks a reason)", true},
	{"prescribe", "acknowledge", "acknowledge the alert", true},
	{"book", "down", "next slot", false},
	{"book", "up", "previous slot", false},
	{"book", "prev-day", "previous day", false},
	{"book", "next-day", "next day", false},
	{"book", "prev-clinician", "previous clinician", false},
	{"book", "next-clinician", "next clinician", false},
	{"book", "book-slot", "book the slot for the current patient", false},
	{"book", "arrived", "mark arrived", false},
	{"book", "seen", "mark seen", false},
	{"book", "did-not-attend", "mark did not attend", false},
	{"book", "cancel-appointment", "cancel the appointment", false},
	{"book", "open-patient", "open the patient's record", false},
	{"register", "next-field", "next field", false},
	{"register", "prev-field", "previous field", false},
	{"register", "down", "next choice", false},
	{"register", "up", "previous choice", false},
	{"inbox", "down", "next report (or scroll the report)", false},
	{"inbox", "up", "previous report (or scroll)", false},
	{"inbox", "page-down", "next page", false},
	{"inbox", "page-up", "previous page", false},
	{"inbox", "read", "read the selected report", false},
	{"inbox", "everyone", "my reports / everyone's (in a comment: for the team / the patient)", false},
	{"inbox", "open-record", "open the patient's record", false},
	{"inbox", "match", "match an unmatched report to a patient, with a reason", false},
	{"inbox", "file-normal", "file: normal, no action", false},
	{"inbox", "file-comment", "file with a comment for the patient or the team", false},
	{"inbox", "file-routine", "file: routine appointment (makes a task)", false},
	{"inbox", "file-urgent", "file: urgent, contact today (makes a task)", false},
	{"inbox", "file-speak", "file: speak to the GP (makes a task)", false},
	{"inbox", "file-repeat", "file: repeat in N weeks (makes a recall)", false},
	{"registers", "down", "next", false},
	{"registers", "up", "previous", false},
	{"registers", "page-down", "next page", false},
	{"registers", "page-up", "previous page", false},
	{"registers", "explain", "why this patient is in or out, rule by rule", false},
	{"registers", "open-patient", "open the patient's record", false},
	{"registers", "reveal", "show a sensitive record's values: asks your reason (audited)", false},
	{"registers", "refresh", "run the registers again", false},
	{"tasks", "down", "next task", false},
	{"tasks", "up", "previous task", false},
	{"tasks", "next-view", "next list: mine, for anyone, everyone's", false},
	{"tasks", "open-patient", "open the task's patient", false},
	{"tasks", "done", "mark the task done (ctrl+s confirms)", false},
	{"tasks", "reassign", "give the task to someone else (or anyone)", false},
	{"tasks", "cancel-task", "cancel the task, with a reason", false},
	{"tasks", "new-task", "a new task about no patient", false},
}

// Disabled unbinds an action.
const Disabled = "<disabled>"

// Keymap maps keys to actions per context.
type Keymap struct {
	keys   map[string]map[string][]string // context -> action -> keys
	lookup map[string]map[string]string   // context -> key -> action
}

// Error is a keymap problem with where it was found.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Errors is every problem found in a file.
type Errors []*Error

func (es Errors) Error() string {
	var b []string
	for _, e := range es {
		b = append(b, e.Error())
	}
	return strings.Join(b, "\n")
}

// Options choose what to load.
type Options struct {
	Preset   string // "" or "default", or "vim"
	UserFile string // "" for none; a missing file is fine
}

// UserFile is $XDG_CONFIG_HOME/gpsoc/keys.yaml.
func UserFile() string {
	d := os.Getenv("XDG_CONFIG_HOME")
	if d == "" {
		h, _ := os.UserHomeDir()
		d = filepath.Join(h, ".config")
	}
	return filepath.Join(d, "gpsoc", "keys.yaml")
}

// Default is the embedded keymap alone.
func Default() *Keymap {
	k, err := Load(Options{})
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return k
}

// maxKeymapBytes bounds a user's keymap file (the default is about 3 KiB).
const maxKeymapBytes = 256 << 10

// Load merges the default, the preset and the user's file, and validates the result.
func Load(o Options) (*Keymap, error) {
	km := &Keymap{keys: map[string]map[string][]string{}}
	lines := map[string]map[string]int{} // context -> action -> line it was last set on
	files := map[string]map[string]string{}
	apply := func(name string, data []byte) error {
		var errs Errors
		err := merge(km, lines, files, name, data, &errs)
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			return errs
		}
		return nil
	}
	if err := apply("default.yaml", defaultYAML); err != nil {
		return nil, err
	}
	switch o.Preset {
	case "", "default":
	case "vim":
		if err := apply("vim.yaml", vimYAML); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{File: "keymap preset", Msg: fmt.Sprintf("unknown preset %q (want default or vim)", o.Preset)}
	}
	if o.UserFile != "" {
		data, err := os.ReadFile(o.UserFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read keymap %s: %w", o.UserFile, err)
		}
		if err == nil && len(data) > maxKeymapBytes {
			return nil, &Error{File: o.UserFile, Msg: fmt.Sprintf("is %d bytes; a keymap file may be at most %d", len(data), maxKeymapBytes)}
		}
		if err == nil {
			if err := apply(o.UserFile, data); err != nil {
				return nil, err
			}
		}
	}
	// The same key twice in one context.
	var errs Errors
	order := map[string]int{"default.yaml": 0, "vim.yaml": 1, o.UserFile: 2}
	km.lookup = map[string]map[string]string{}
	for _, ctx := range Contexts {
		km.lookup[ctx] = map[string]string{}
		for _, a := range Actions {
			if a.Context != ctx {
				continue
			}
			for _, key := range km.keys[ctx][a.Name] {
				if prev, ok := km.lookup[ctx][key]; ok {
					// Name the line of whichever binding was set last (the user's, usually).
					at := a.Name
					if order[files[ctx][prev]] > order[files[ctx][a.Name]] {
						at = prev
					}
					errs = append(errs, &Error{File: files[ctx][at], Line: lines[ctx][at],
						Msg: fmt.Sprintf("%s: key %q is bound to both %s and %s", ctx, key, prev, a.Name)})
					continue
				}
				km.lookup[ctx][key] = a.Name
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return km, nil
}

func actionOf(ctx, name string) (Action, bool) {
	for _, a := range Actions {
		if a.Context == ctx && a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

func merge(km *Keymap, lines map[string]map[string]int, files map[string]map[string]string, file string, data []byte, errs *Errors) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &Error{File: file, Msg: err.Error()}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return &Error{File: file, Line: root.Line, Msg: "want a mapping of contexts (global, find, record, consult, prescribe, book)"}
	}
	bad := func(n *yaml.Node, f string, a ...any) {
		*errs = append(*errs, &Error{File: file, Line: n.Line, Msg: fmt.Sprintf(f, a...)})
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		cn, body := root.Content[i], root.Content[i+1]
		ctx := cn.Value
		known := false
		for _, c := range Contexts {
			known = known || c == ctx
		}
		if !known {
			bad(cn, "unknown context %q (want one of %s)", ctx, strings.Join(Contexts, ", "))
			continue
		}
		if body.Kind != yaml.MappingNode {
			bad(body, "%s: want a mapping of action: key", ctx)
			continue
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			an, kn := body.Content[j], body.Content[j+1]
			act, ok := actionOf(ctx, an.Value)
			if !ok {
				bad(an, "%s: unknown action %q", ctx, an.Value)
				continue
			}
			var keys []string
			switch kn.Kind {
			case yaml.ScalarNode:
				keys = []string{kn.Value}
			case yaml.SequenceNode:
				for _, x := range kn.Content {
					keys = append(keys, x.Value)
				}
			default:
				bad(kn, "%s.%s: want a key or a list of keys", ctx, act.Name)
				continue
			}
			var out []string
			okAll := true
			for _, k := range keys {
				if k == Disabled {
					continue
				}
				norm, err := NormalizeKey(k)
				if err != nil {
					bad(kn, "%s.%s: %v", ctx, act.Name, err)
					okAll = false
					continue
				}
				if act.Confirm && Printable(norm) {
					bad(kn, "%s.%s: %q is a single printable character; keys that confirm a prescription or answer an alert need a modifier (e.g. ctrl+enter)", ctx, act.Name, k)
					okAll = false
					continue
				}
				out = append(out, norm)
			}
			if !okAll {
				continue
			}
			if km.keys[ctx] == nil {
				km.keys[ctx] = map[string][]string{}
				lines[ctx] = map[string]int{}
				files[ctx] = map[string]string{}
			}
			km.keys[ctx][act.Name] = out
			lines[ctx][act.Name] = an.Line
			files[ctx][act.Name] = file
		}
	}
	return nil
}

var namedKeys = map[string]bool{
	"enter": true, "tab": true, "backspace": true, "esc": true, "space": true, "up": true, "down": true,
	"left": true, "right": true, "insert": true, "delete": true, "pgup": true, "pgdown": true, "home": true, "end": true,
}

func init() {
	for i := 1; i <= 12; i++ {
		namedKeys[fmt.Sprintf("f%d", i)] = true
	}
}

// NormalizeKey checks a key as written in a keymap ("ctrl+k", "enter", "/")
// and returns it as Bubble Tea names it.
func NormalizeKey(k string) (string, error) {
	if k == "" {
		return "", errors.New("empty key")
	}
	if utf8.RuneCountInString(k) == 1 {
		if k == " " {
			return "space", nil
		}
		return k, nil
	}
	aliases := map[string]string{"escape": "esc", "return": "enter", "pagedown": "pgdown", "pageup": "pgup", "del": "delete"}
	parts := strings.Split(strings.ToLower(k), "+")
	if strings.HasSuffix(k, "+") { // "ctrl++"
		parts = append(parts[:len(parts)-2], "+")
	}
	base := parts[len(parts)-1]
	if a, ok := aliases[base]; ok {
		base = a
	}
	mods := map[string]bool{}
	for _, m := range parts[:len(parts)-1] {
		switch m {
		case "ctrl", "alt", "shift":
			if mods[m] {
				return "", fmt.Errorf("unknown key %q (modifier %s twice)", k, m)
			}
			mods[m] = true
		default:
			return "", fmt.Errorf("unknown key %q (unknown modifier %q; use ctrl, alt, shift)", k, m)
		}
	}
	if !namedKeys[base] && utf8.RuneCountInString(base) != 1 {
		return "", fmt.Errorf("unknown key %q", k)
	}
	if len(mods) == 0 && !namedKeys[base] {
		return "", fmt.Errorf("unknown key %q", k)
	}
	var b strings.Builder
	for _, m := range []string{"ctrl", "alt", "shift"} {
		if mods[m] {
			b.WriteString(m + "+")
		}
	}
	b.WriteString(base)
	return b.String(), nil
}

// Printable reports whether a key types a character (and so is text in a field).
func Printable(k string) bool { return utf8.RuneCountInString(k) == 1 || k == "space" }

// Action returns what a key does in a context, then in global.
func (km *Keymap) Action(ctx, key string) (string, bool) {
	if a, ok := km.lookup[ctx][key]; ok && ctx != "global" {
		return a, true
	}
	a, ok := km.lookup["global"][key]
	return a, ok
}

// ActionIn returns what a key does in exactly one context.
func (km *Keymap) ActionIn(ctx, key string) (string, bool) {
	a, ok := km.lookup[ctx][key]
	return a, ok
}

// Keys are the keys bound to an action.
func (km *Keymap) Keys(ctx, action string) []string { return km.keys[ctx][action] }

// Key is the first key of an action, for footers ("" if unbound).
func (km *Keymap) Key(ctx, action string) string {
	if ks := km.keys[ctx][action]; len(ks) > 0 {
		return ks[0]
	}
	return ""
}

// Binding is one action with its keys.
type Binding struct {
	Action
	Keys []string
}

// Bindings of a context, in help order (unbound actions left out).
func (km *Keymap) Bindings(ctx string) []Binding {
	var out []Binding
	for _, a := range Actions {
		if a.Context == ctx && len(km.keys[ctx][a.Name]) > 0 {
			out = append(out, Binding{a, km.keys[ctx][a.Name]})
		}
	}
	return out
}

// ManPage renders the keys as a roff man page section 7 (gpsoc-keys).
func (km *Keymap) ManPage(date string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH GPSOC-KEYS 7 %q \"gpsoc\" \"gpsoc manual\"\n", date)
	b.WriteString(".SH NAME\ngpsoc-keys \\- the keys of the gpsoc workstation\n")
	b.WriteString(".SH DESCRIPTION\nKeys are data: the embedded default, a vim-style preset, and the user's file\n" +
		".I $XDG_CONFIG_HOME/gpsoc/keys.yaml\nmerged over them. Printable keys act as commands only when no text field has focus.\n" +
		"Keys that confirm a prescription or answer an alert cannot be a single printable character.\n")
	for _, ctx := range Contexts {
		bs := km.Bindings(ctx)
		if len(bs) == 0 {
			continue
		}
		fmt.Fprintf(&b, ".SH %s\n", strings.ToUpper(ctx))
		for _, x := range bs {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s (%s)\n", roffEscape(strings.Join(x.Keys, ", ")), x.Help, x.Name)
		}
	}
	return b.String()
}

func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// Names lists every context.action, sorted (for tests and completions).
func Names() []string {
	var out []string
	for _, a := range Actions {
		out = append(out, a.Context+"."+a.Name)
	}
	sort.Strings(out)
	return out
}
