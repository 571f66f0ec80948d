package clinical

// Filing rules: a GP writes them in YAML, tests them against today's inbox
// (TestFilingRules) and enables them (SetFilingRules); on arrival a report
// that one enabled rule matches is filed "normal" under the rule's id.
//
// No rule can file an abnormal result or one that carries a comment, nor a
// corrected report: that is decided here, in code, before any rule is
// looked at (ruleMayFile), whatever a rule says. The only action a rule
// can take is record.FileNormal.
//
//	rules:
//	  - id: fbc-normal-hsl
//	    description: normal full blood counts from the hospital lab
//	    enabled: true
//	    sender: RAL01            # the laboratory's ODS code or name, as sent
//	    tests: [26604007, "Haemoglobin", "White cell count"]   # codes or names
//	    unlessProblem: [414022008]   # not for patients with a haematology problem

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"go.yaml.in/yaml/v3"
)

// SettingInboxRules is the practice setting that holds the enabled filing
// rules' YAML (set through SetFilingRules, not `practice set`).
const SettingInboxRules = "inbox-rules"

// FilingRule is one rule.
type FilingRule struct {
	ID          string `yaml:"id" json:"id"`
	Description string `yaml:"description" json:"description,omitempty"`
	Enabled     bool   `yaml:"enabled" json:"enabled"`
	// Sender is the laboratory: its ODS code or its name as sent.
	Sender string `yaml:"sender" json:"sender"`
	// Tests lists what the rule files: every result of a report must be one
	// of these (one of its codes, or its name), or the rule does not apply.
	Tests []string `yaml:"tests" json:"tests"`
	// UnlessProblem: the rule does not apply to a patient with an active
	// problem that is one of these SNOMED CT concepts or a descendant.
	UnlessProblem []string `yaml:"unlessProblem" json:"unlessProblem,omitempty"`
	// Action is what the rule does: only "normal" is allowed.
	Action string `yaml:"action" json:"action"`
	Line   int    `yaml:"-" json:"line"`
}

// FilingRules is a rules file.
type FilingRules struct {
	Rules []FilingRule `yaml:"rules" json:"rules"`
}

// ParseFilingRules reads and validates a rules file; an error names the
// line (and the field and value) it is about.
func ParseFilingRules(data []byte) (*FilingRules, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, record.Invalid("rules", "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var fr FilingRules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fr); err != nil {
		return nil, record.Invalid("rules", "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// Lines of each rule, from the node tree.
	var lines []int
	if len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode {
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "rules" && m.Content[i+1].Kind == yaml.SequenceNode {
				for _, n := range m.Content[i+1].Content {
					lines = append(lines, n.Line)
				}
			}
		}
	}
	seen := map[string]int{}
	for i := range fr.Rules {
		r := &fr.Rules[i]
		if i < len(lines) {
			r.Line = lines[i]
		}
		at := func(field, value, reason string, args ...any) error {
			return record.Invalid(fmt.Sprintf("line %d: %s", r.Line, field), value, reason, args...)
		}
		r.ID = strings.TrimSpace(r.ID)
		if r.ID == "" {
			return nil, at("id", "", "every rule needs an id (its filings are audited under it)")
		}
		if l, dup := seen[r.ID]; dup {
			return nil, at("id", r.ID, "is also the id of the rule on line %d", l)
		}
		seen[r.ID] = r.Line
		if strings.TrimSpace(r.Sender) == "" {
			return nil, at("sender", "", "a rule names the laboratory it files from")
		}
		if len(r.Tests) == 0 {
			return nil, at("tests", "", "a rule lists the tests it files (codes or names)")
		}
		for _, t := range r.Tests {
			if strings.TrimSpace(t) == "" {
				return nil, at("tests", t, "an empty test")
			}
		}
		for _, c := range r.UnlessProblem {
			if !record.ValidSCTID(c) {
				return nil, at("unlessProblem", c, "not a valid SNOMED CT identifier")
			}
		}
		if r.Action == "" {
			r.Action = record.FileNormal
		}
		if r.Action != record.FileNormal {
			return nil, at("action", r.Action, "a rule may only file as normal: every other action needs a clinician")
		}
	}
	return &fr, nil
}

// ruleMayFile is the line no rule crosses: a rule never files an abnormal
// result, a result with a comment, a corrected report or one not matched.
func ruleMayFile(r *record.Report) bool {
	return r.Status == record.ReportUnfiled && !r.Abnormal() && !r.HasComments() && !r.Corrected
}

// RuleVerdict is what the rules would do to one report.
type RuleVerdict struct {
	Report *record.Report `json:"report"`
	// Rule is the id of the rule that would file it ("" for none).
	Rule string `json:"rule,omitempty"`
	// Why says why no rule files it, or what the rule does.
	Why string `json:"why"`
}

// matches reports whether a rule applies to a report of a patient, and why not.
func (s *Service) ruleMatches(tx store.Tx, fr *FilingRule, r *record.Report) (bool, string) {
	if !strings.EqualFold(strings.TrimSpace(fr.Sender), r.Sender.ODS) && !strings.EqualFold(strings.TrimSpace(fr.Sender), strings.TrimSpace(r.Sender.Name)) {
		return false, "from another laboratory"
	}
	want := map[string]bool{}
	for _, t := range fr.Tests {
		want[strings.ToLower(strings.TrimSpace(t))] = true
	}
	for _, t := range r.Tests {
		ok := want[strings.ToLower(strings.TrimSpace(t.Name))]
		for _, c := range t.Codes {
			ok = ok || want[strings.ToLower(c.Code)]
		}
		if !ok {
			return false, fmt.Sprintf("%q is not among its tests", t.Name)
		}
	}
	if len(fr.UnlessProblem) > 0 {
		es, err := tx.List(r.MatchedPatient, record.KindProblem)
		if err != nil {
			return false, "the patient's problems cannot be read"
		}
		d, derr := s.p.drugs()
		for _, e := range es {
			pr := e.(*record.Problem)
			if pr.Status != "active" || pr.Code.System != record.SystemSNOMED {
				continue
			}
			for _, c := range fr.UnlessProblem {
				if c == pr.Code.Code {
					return false, "the patient has the problem " + c
				}
				if derr != nil {
					// Fail closed: without the hierarchy a descendant
					// cannot be ruled out, so the rule does not apply.
					return false, "the terminology cannot say whether problem " + pr.Code.Code + " is under " + c
				}
				if sub, err := d.Subsumes(c, pr.Code.Code); err != nil || sub {
					return false, "the patient has the problem " + pr.Code.Code + " (under " + c + ")"
				}
			}
		}
	}
	return true, ""
}

// verdict is what a rule set does to one report.
func (s *Service) verdict(tx store.Tx, rules *FilingRules, r *record.Report, enabledOnly bool) (*FilingRule, string) {
	switch {
	case r.Status != record.ReportUnfiled:
		return nil, "not matched to a patient: no rule files it"
	case r.Corrected:
		return nil, "a corrected report: no rule files it"
	case r.Abnormal():
		return nil, "abnormal: no rule files it"
	case r.HasComments():
		return nil, "carries a comment: no rule files it"
	}
	var whys []string
	for i := range rules.Rules {
		fr := &rules.Rules[i]
		if enabledOnly && !fr.Enabled {
			continue
		}
		ok, why := s.ruleMatches(tx, fr, r)
		if ok && ruleMayFile(r) {
			return fr, "filed normal by rule " + fr.ID
		}
		whys = append(whys, fr.ID+": "+why)
	}
	if len(whys) == 0 {
		return nil, "no rule applies"
	}
	return nil, strings.Join(whys, "; ")
}

// rulesCache keeps the parse of the enabled rules' text.
var rulesCache sync.Map // text -> *FilingRules

func (s *Service) enabledRules() *FilingRules {
	text := s.practice.Settings[SettingInboxRules]
	if text == "" {
		return nil
	}
	if v, ok := rulesCache.Load(text); ok {
		return v.(*FilingRules)
	}
	fr, err := ParseFilingRules([]byte(text))
	if err != nil {
		return nil // stored only after validation; a bad one files nothing
	}
	rulesCache.Store(text, fr)
	return fr
}

// autoFileRule is the enabled rule that files a newly arrived report, if any.
func (s *Service) autoFileRule(tx store.Tx, r *record.Report) *FilingRule {
	rules := s.enabledRules()
	if rules == nil || !ruleMayFile(r) {
		return nil
	}
	fr, _ := s.verdict(tx, rules, r, true)
	return fr
}

// autoFile files a report "normal" under a rule's id, in the delivering transaction.
func (s *Service) autoFile(tx store.WTx, r *record.Report, fr *FilingRule) error {
	if !ruleMayFile(r) || fr.Action != record.FileNormal {
		return fmt.Errorf("rule %s may not file report %s", fr.ID, r.ID) // unreachable: checked before
	}
	f := &record.Filing{Action: record.FileNormal, Rule: fr.ID, By: s.user.Name, At: s.p.now().UTC()}
	return s.fileWrite(tx, r, f, "")
}

// TestFilingRules shows what each rule of a file would do to the reports
// in today's inbox (every unfiled report), without filing anything.
func (s *Service) TestFilingRules(ctx context.Context, data []byte) ([]RuleVerdict, error) {
	if ops := s.inboxOps(); ops != nil {
		out := []RuleVerdict{}
		return out, callInbox(ctx, ops, "rules-test", string(data), &out)
	}
	if err := s.require(ctx, ActInbox, ""); err != nil {
		return nil, err
	}
	rules, err := ParseFilingRules(data)
	if err != nil {
		return nil, err
	}
	var out []RuleVerdict
	err = s.store().View(ctx, func(tx store.Tx) error {
		es, err := s.p.inbox.entries(tx)
		if err != nil {
			return err
		}
		for _, e := range es {
			fr, why := s.verdict(tx, rules, e.report, false)
			v := RuleVerdict{Report: e.report, Why: why}
			if fr != nil {
				v.Rule = fr.ID
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", record.KindReport, "", "", 0)
	ev.Query = "inbox rules test"
	return out, s.audit(ctx, ev)
}

// FilingRulesText is the enabled rules file ("" when none).
func (s *Service) FilingRulesText(ctx context.Context) (string, error) {
	if ops := s.inboxOps(); ops != nil {
		var out string
		return out, callInbox(ctx, ops, "rules-show", nil, &out)
	}
	if err := s.require(ctx, ActInbox, ""); err != nil {
		return "", err
	}
	return s.practice.Settings[SettingInboxRules], nil
}

// SetFilingRules validates and enables a rules file (its enabled rules
// take effect on the next report to arrive); empty clears them. GPs only:
// a rule files results unseen, on the practice's clinical authority.
func (s *Service) SetFilingRules(ctx context.Context, data []byte) (*FilingRules, error) {
	if ops := s.inboxOps(); ops != nil {
		var out FilingRules
		if err := callInbox(ctx, ops, "rules-enable", string(data), &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	if s.user.Role != record.RoleGP || s.user.Disabled {
		return nil, s.deny(ctx, "enable results filing rules")
	}
	var fr *FilingRules
	if len(bytes.TrimSpace(data)) > 0 {
		var err error
		if fr, err = ParseFilingRules(data); err != nil {
			return nil, err
		}
	} else {
		fr = &FilingRules{}
	}
	err := s.store().Update(ctx, func(tx store.WTx) error {
		p, err := tx.Practice()
		if err != nil {
			return err
		}
		if p.Settings == nil {
			p.Settings = map[string]string{}
		}
		if len(fr.Rules) == 0 {
			delete(p.Settings, SettingInboxRules)
		} else {
			p.Settings[SettingInboxRules] = string(data)
		}
		p.RecordedAt, p.RecordedBy = s.p.now().UTC(), s.user.Name
		if err := tx.PutPractice(p); err != nil {
			return err
		}
		s.practice = *p
		ev := s.event("update", "practice", p.ODS, "", p.Version)
		var ids []string
		for _, r := range fr.Rules {
			if r.Enabled {
				ids = append(ids, r.ID)
			}
		}
		ev.Reason = "results filing rules enabled: " + strings.Join(ids, ", ")
		return tx.Append(ev)
	})
	if err != nil {
		return nil, err
	}
	return fr, nil
}

// deny audits and returns a refusal for an action outside the role table.
func (s *Service) deny(ctx context.Context, what string) error {
	ev := s.event("denied", "", "", "", 0)
	ev.Outcome, ev.Reason = "denied", what
	_ = s.audit(ctx, ev)
	return &record.PermissionError{User: s.user.Name, Role: s.user.Role, Action: what}
}
