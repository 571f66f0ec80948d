package fhir

import (
	"encoding/json"
	"strconv"

	"github.com/opengpsoc/gpsoc/record"
)

// A laboratory result's reference range and abnormal flag (record.Observation
// ReferenceRange, Interpretation) are Observation.referenceRange and
// .interpretation. This package does not model them as struct fields: an
// imported Observation keeps them exactly as sent among its unmapped elements
// (every range, every coding), and the record's fields are read from there;
// a result that came through the results inbox has them made on export.
// Whether it is still unreviewed, and its report, ride in record-extra.

// CSObservationInterpretation is HL7's abnormal-flag code system.
const CSObservationInterpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

type labRange struct {
	Low  *Quantity `json:"low,omitempty"`
	High *Quantity `json:"high,omitempty"`
	Text string    `json:"text,omitempty"`
}

type labExtra struct {
	Unreviewed bool   `json:"unreviewed,omitempty"`
	ReportID   string `json:"reportId,omitempty"`
	Comment    string `json:"comment,omitempty"`
}

// labToResource adds a laboratory result's range, flag, comparator and
// review state to its resource (after its unmapped elements are merged:
// what it came with wins).
func labToResource(r *Observation, o *record.Observation) {
	if r.ValueQuantity != nil && o.Comparator != "" {
		r.ValueQuantity.Comparator = o.Comparator
	}
	if x := (labExtra{o.Unreviewed, o.ReportID, o.Comment}); x != (labExtra{}) {
		r.Extension = append(r.Extension, extraExt(x)...)
	}
	add := map[string]any{}
	if o.Interpretation != "" {
		add["interpretation"] = []CodeableConcept{{Coding: []Coding{{System: CSObservationInterpretation, Code: o.Interpretation}}}}
	}
	if rr := o.ReferenceRange; rr != nil {
		x := labRange{Text: rr.Text}
		if rr.Low != nil {
			x.Low = &Quantity{Value: num(*rr.Low), Unit: o.Unit}
		}
		if rr.High != nil {
			x.High = &Quantity{Value: num(*rr.High), Unit: o.Unit}
		}
		add["referenceRange"] = []labRange{x}
	}
	if len(add) > 0 {
		b, _ := json.Marshal(add)
		MergeUnmapped(r, b)
	}
}

// labFromResource reads a result's range, flag, comparator and review state.
func labFromResource(r *Observation, o *record.Observation) {
	if r.ValueQuantity != nil {
		o.Comparator = r.ValueQuantity.Comparator
	}
	var x labExtra
	if recordExtra(r.Extension, &x) {
		o.Unreviewed, o.ReportID, o.Comment = x.Unreviewed, x.ReportID, x.Comment
	}
	var un struct {
		Interpretation []CodeableConcept `json:"interpretation"`
		ReferenceRange []labRange        `json:"referenceRange"`
	}
	if len(o.FHIRExtra) == 0 || json.Unmarshal(o.FHIRExtra, &un) != nil {
		return
	}
	for _, in := range un.Interpretation {
		for _, c := range in.Coding {
			if c.Code != "" && o.Interpretation == "" {
				o.Interpretation = c.Code
			}
		}
	}
	if len(un.ReferenceRange) > 0 {
		rr := un.ReferenceRange[0]
		x := &record.ReferenceRange{Text: rr.Text}
		if rr.Low != nil {
			if v, err := strconv.ParseFloat(string(rr.Low.Value), 64); err == nil {
				x.Low = &v
			}
		}
		if rr.High != nil {
			if v, err := strconv.ParseFloat(string(rr.High.Value), 64); err == nil {
				x.High = &v
			}
		}
		if x.Low != nil || x.High != nil || x.Text != "" {
			o.ReferenceRange = x
		}
	}
}
