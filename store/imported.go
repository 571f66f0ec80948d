package store

import (
	"fmt"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
)

// An audit trail imported from another system is kept apart from the
// practice's own chain (ImportedTrail). Both backends that keep one check
// it the same way, with VerifyImportedEvent when an event is kept and with
// ImportedCheck when the trail is verified.

// VerifyImportedEvent checks an imported event's own hash and, when the
// event before it from the same source is known (prevKnown), its link to
// it: "" when it verifies, else what failed (kept as the event's Problem).
func VerifyImportedEvent(ev record.AuditEvent, prev string, prevKnown bool) string {
	if ev.Hash == "" {
		return "carries no hash: its chain cannot be verified"
	}
	h := ev.Hash
	ev.Hash = ""
	if AuditHash(ev.PrevHash, AppendAuditJSON(nil, &ev)) != h {
		return "its hash does not match its content (altered, or not a chain this program verifies)"
	}
	if prevKnown && ev.PrevHash != prev {
		return "does not link to the event before it (events missing or out of order)"
	}
	return ""
}

// ImportedCheck verifies the kept imported events, read in the order kept,
// against the practice's own events that record their imports (count and
// digest), and each event's own hash again: an event removed, added or
// altered since its import is a problem of this store, not of the other
// system.
type ImportedCheck struct {
	rep     ImportedTrailReport
	out     []Problem
	batches map[uint64][]record.AuditEvent
	order   []uint64
	seen    map[string]bool
}

// Event checks one kept event, stored as raw (its JSON); where names it in
// a problem.
func (c *ImportedCheck) Event(where string, raw []byte) {
	if c.batches == nil {
		c.batches, c.seen = map[uint64][]record.AuditEvent{}, map[string]bool{}
	}
	var ie record.ImportedAuditEvent
	if err := json.Unmarshal(raw, &ie); err != nil {
		c.out = append(c.out, Problem{Where: where, What: "cannot be decoded: " + err.Error()})
		return
	}
	c.rep.Events++
	if ie.Problem != "" {
		c.rep.Unverified++
	} else if VerifyImportedEvent(ie.Event, "", false) != "" {
		c.out = append(c.out, Problem{Where: where, What: "verified when imported, but its hash no longer matches its content (altered since)"})
	}
	if !c.seen[ie.Source] {
		c.seen[ie.Source] = true
		c.rep.Sources = append(c.rep.Sources, ie.Source)
	}
	if _, ok := c.batches[ie.Batch]; !ok {
		c.order = append(c.order, ie.Batch)
	}
	c.batches[ie.Batch] = append(c.batches[ie.Batch], ie.Event)
}

// End checks each import's events against the practice's own event that
// recorded it (recorded returns it, nil when there is none or it cannot be
// read) and reports.
func (c *ImportedCheck) End(recorded func(seq uint64) *record.AuditEvent) ([]Problem, ImportedTrailReport) {
	for _, seq := range c.order {
		evs := c.batches[seq]
		where := fmt.Sprintf("imported trail recorded at event %d", seq)
		ev := recorded(seq)
		if ev == nil || ev.Action != "import" || ev.Kind != "audit" {
			c.out = append(c.out, Problem{Where: where, What: "no event of this practice records its import"})
			continue
		}
		want := fmt.Sprintf("%d events", len(evs))
		if !strings.Contains(ev.Query, want) || !strings.Contains(ev.Query, record.TrailDigest(evs)) {
			c.out = append(c.out, Problem{Where: where, What: "its events differ from those the import recorded (removed, added or altered since)"})
		}
	}
	return c.out, c.rep
}
