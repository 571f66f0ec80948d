package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
)

// ValueSet/$expand?filter=: the code pickers' search (same ranking: shorthand, field,
// commonness) for API clients. The server does not open the terminology itself (it sits
// above it only through clinical); the command that starts it passes Options.Codes.

// ExpandedCode is one code of an expansion.
type ExpandedCode struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

// CodeSearch searches codes as the pickers do. picker is problem, consultation, drug or
// ""; system is sct, dmd, ctv3, read2 or "". note is what a picker would say beside the
// results (nothing but typos in the embedded terminology), or "".
type CodeSearch func(ctx context.Context, filter, picker, system string, count int) (codes []ExpandedCode, note string, err error)

type vsExpansion struct {
	Identifier string         `json:"identifier,omitempty"`
	Timestamp  string         `json:"timestamp"`
	Total      int            `json:"total"`
	Parameter  []vsParameter  `json:"parameter,omitempty"`
	Contains   []ExpandedCode `json:"contains"`
}

type vsParameter struct {
	Name        string `json:"name"`
	ValueString string `json:"valueString"`
}

type valueSet struct {
	ResourceType string      `json:"resourceType"`
	Status       string      `json:"status"`
	Expansion    vsExpansion `json:"expansion"`
}

// vsSystems: the implicit value sets of whole code systems ("every concept").
var vsSystems = map[string]string{
	"http://snomed.info/sct?fhir_vs":  "sct",
	"https://dmd.nhs.uk?fhir_vs":      "dmd",
	"http://read.info/ctv3?fhir_vs":   "ctv3",
	"http://read.info/readv2?fhir_vs": "read2",
}

// valueSetExpand answers GET /ValueSet/$expand?filter=TEXT[&url=…][&count=N][&picker=P].
func (s *Server) valueSetExpand(w http.ResponseWriter, r *http.Request, _ *clinical.Service) error {
	if s.o.Codes == nil {
		return errorf(http.StatusNotImplemented, "not-supported", "ValueSet/$expand: no terminology is open on this server")
	}
	q := r.URL.Query()
	filter := strings.TrimSpace(q.Get("filter"))
	if filter == "" {
		return errorf(http.StatusBadRequest, "required", "ValueSet/$expand needs filter (the text a picker would be given)")
	}
	system := ""
	if u := q.Get("url"); u != "" {
		var ok bool
		if system, ok = vsSystems[u]; !ok {
			return errorf(http.StatusBadRequest, "not-supported", "url %q: only whole code systems can be expanded (e.g. http://snomed.info/sct?fhir_vs)", u)
		}
	}
	picker := q.Get("picker")
	switch picker {
	case "", "problem", "consultation", "drug":
	default:
		return errorf(http.StatusBadRequest, "value", "picker %q: must be problem, consultation or drug", picker)
	}
	count := 20
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(http.StatusBadRequest, "value", "count %q: must be a whole number from 1 to 1000", v)
		}
		count = n
	}
	codes, note, err := s.o.Codes(r.Context(), filter, picker, system, count)
	if err != nil {
		return errorf(http.StatusBadRequest, "value", "ValueSet/$expand: %v", err)
	}
	if codes == nil {
		codes = []ExpandedCode{}
	}
	vs := valueSet{ResourceType: "ValueSet", Status: "active", Expansion: vsExpansion{
		Timestamp: time.Now().UTC().Format(time.RFC3339), Total: len(codes), Contains: codes,
		Parameter: []vsParameter{{Name: "filter", ValueString: filter}}}}
	if picker != "" {
		vs.Expansion.Parameter = append(vs.Expansion.Parameter, vsParameter{Name: "picker", ValueString: picker})
	}
	if note != "" {
		vs.Expansion.Parameter = append(vs.Expansion.Parameter, vsParameter{Name: "note", ValueString: note})
	}
	writeJSON(w, http.StatusOK, vs)
	return nil
}
