package fhir

import (
	"encoding/json"

	"github.com/opengpsoc/gpsoc/record"
)

// ExtAPIRecord (valueString, JSON) is what `gpsoc serve` adds to a resource
// it serves so that a gpsoc workstation over it (store/remote) reads back the
// record the practice file holds, not only what the UK Core mapping carries:
// who recorded the version, its status and retraction, a consultation's coded entries and
// what was written in it (so entering it in error takes those with it), and a
// prescription's issues (which an export writes as resources of their own).
// Exports do not carry it; any other client may ignore it.
const ExtAPIRecord = OurBase + "StructureDefinition/api-record"

type apiRecord struct {
	RecordedBy string               `json:"recordedBy,omitempty"`
	Status     string               `json:"status,omitempty"`
	Entries    []record.CodedEntry  `json:"entries,omitempty"`
	Linked     []record.LinkedEntry `json:"linked,omitempty"`
	Issues     []record.Issue       `json:"issues,omitempty"`
	Retraction *record.Retraction   `json:"retraction,omitempty"`
}

// WithAPIRecord adds the api-record extension of e to r.
func WithAPIRecord(r Resource, e record.Entity) {
	m := e.Head()
	x := apiRecord{RecordedBy: m.RecordedBy, Status: m.Status, Retraction: m.Retraction}
	switch v := e.(type) {
	case *record.Consultation:
		x.Entries, x.Linked = v.Entries, v.Linked
	case *record.Medication:
		x.Issues = v.Issues
	}
	b, err := json.Marshal(x)
	if err != nil || len(b) <= 2 {
		return
	}
	h := r.Head()
	*h.Ext = append(*h.Ext, Extension{URL: ExtAPIRecord, ValueString: str(string(b))})
}

// ReadAPIRecord fills e from r's api-record extension, if it has one.
func ReadAPIRecord(r Resource, e record.Entity) {
	x := findExt(*r.Head().Ext, ExtAPIRecord)
	if x == nil || x.ValueString == nil {
		return
	}
	var a apiRecord
	if json.Unmarshal([]byte(*x.ValueString), &a) != nil {
		return
	}
	m := e.Head()
	m.RecordedBy = a.RecordedBy
	if a.Retraction != nil {
		m.Retraction = a.Retraction
	}
	if a.Status != "" {
		m.Status = a.Status
	}
	switch v := e.(type) {
	case *record.Consultation:
		v.Entries, v.Linked = a.Entries, a.Linked
	case *record.Medication:
		v.Issues = a.Issues
	}
}

// Repeat is a repeat prescription's UK Core repeat information.
type Repeat struct {
	Issued int    // numberOfPrescriptionsIssued
	Review string // authorisationExpiryDate
}

// RepeatInformation reads the repeat-information extension (nil when absent).
func RepeatInformation(r *MedicationRequest) *Repeat {
	ri := findExt(r.Extension, ExtRepeatInformation)
	if ri == nil {
		return nil
	}
	out := &Repeat{}
	for _, s := range ri.Extension {
		switch {
		case s.URL == "numberOfPrescriptionsIssued" && s.ValueUnsignedInt != nil:
			out.Issued = *s.ValueUnsignedInt
		case s.URL == "authorisationExpiryDate" && s.ValueDateTime != nil:
			out.Review = *s.ValueDateTime
		}
	}
	return out
}

// WithRetractionReason puts the reason a record is entered in error in the
// api-record extension, for a PUT of a type with no note or comment of its
// own (Encounter): the server reads it with APIRetractionReason.
func WithRetractionReason(r Resource, reason string) {
	b, _ := json.Marshal(apiRecord{Retraction: &record.Retraction{Reason: reason}})
	h := r.Head()
	*h.Ext = append(*h.Ext, Extension{URL: ExtAPIRecord, ValueString: str(string(b))})
}

// APIRetractionReason is the retraction reason in r's api-record extension ("" when none).
func APIRetractionReason(r Resource) string {
	x := findExt(*r.Head().Ext, ExtAPIRecord)
	if x == nil || x.ValueString == nil {
		return ""
	}
	var a apiRecord
	if json.Unmarshal([]byte(*x.ValueString), &a) != nil || a.Retraction == nil {
		return ""
	}
	return a.Retraction.Reason
}

// AlertAnswersOf reads the answers to safety alerts a prescription carries
// (the record-extra extension's alertAnswers): how a client answers the
// alerts of an issue or a re-authorisation it sends as a PUT.
func AlertAnswersOf(r *MedicationRequest) []record.AlertAnswer {
	var x medExtra
	recordExtra(r.Extension, &x)
	return x.Answers
}
