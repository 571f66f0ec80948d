package server

// The practice beyond its patients' records, as standard FHIR: the patient
// change feed remote workstations follow (Patient/$changes).

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/opengpsoc/gpsoc/clinical"
)

// changes is GET Patient/$changes?after=N&_count=M: the patients changed
// after change sequence N, as a Parameters resource: "last" (the sequence to
// ask from next time, a decimal string: it is 64-bit), "more" (the list
// stopped at _count), and one "change" per patient (its "seq" and "patient"
// reference). _count=0 answers the latest sequence only. Sequences are the
// practice file's own, so a client following them loses no change, which a
// clock (_lastUpdated) cannot promise when writes commit out of order.
func (s *Server) changes(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, "value", "after %q: not a change sequence", v)
		}
		after = n
	}
	count := maxCount
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "value", "_count %q: not a number", v)
		}
		count = min(n, maxCount)
	}
	chs, last, more, err := svc.PatientChanges(r.Context(), after, count)
	if err != nil {
		return err
	}
	type part struct {
		Name           string            `json:"name"`
		ValueString    string            `json:"valueString,omitempty"`
		ValueBoolean   *bool             `json:"valueBoolean,omitempty"`
		ValueReference map[string]string `json:"valueReference,omitempty"`
		Part           []part            `json:"part,omitempty"`
	}
	ps := []part{{Name: "last", ValueString: strconv.FormatUint(last, 10)}, {Name: "more", ValueBoolean: &more}}
	for _, c := range chs {
		ps = append(ps, part{Name: "change", Part: []part{{Name: "seq", ValueString: strconv.FormatUint(c.Seq, 10)},
			{Name: "patient", ValueReference: map[string]string{"reference": "Patient/" + c.PatientID}}}})
	}
	b, err := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": ps})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", fhirJSON)
	_, _ = w.Write(b)
	return nil
}
