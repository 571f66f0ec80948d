package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
)

// metadata is the CapabilityStatement: exactly what this server implements.
// It is served without a token, as FHIR clients discover a server before
// they authenticate; it holds nothing about any patient.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	type param struct {
		Name          string `json:"name"`
		Type          string `json:"type"`
		Documentation string `json:"documentation,omitempty"`
	}
	type interaction struct {
		Code          string `json:"code"`
		Documentation string `json:"documentation,omitempty"`
	}
	type operation struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
	}
	type resource struct {
		Type              string        `json:"type"`
		Interaction       []interaction `json:"interaction"`
		Versioning        string        `json:"versioning"`
		ReadHistory       bool          `json:"readHistory"`
		UpdateCreate      bool          `json:"updateCreate"`
		ConditionalCreate bool          `json:"conditionalCreate"`
		ConditionalUpdate bool          `json:"conditionalUpdate"`
		SearchParam       []param       `json:"searchParam"`
		Operation         []operation   `json:"operation,omitempty"`
	}
	var rs []resource
	for _, t := range typeOrder {
		res := resource{Type: t, Versioning: "versioned-update", ReadHistory: true}
		res.Interaction = []interaction{{Code: "read"}, {Code: "vread"}, {Code: "search-type"}, {Code: "history-instance"}}
		if creatable[t] {
			res.Interaction = append(res.Interaction, interaction{Code: "create"})
		}
		if t == "Patient" {
			res.Interaction = append(res.Interaction, interaction{Code: "update", Documentation: "If-Match (or meta.versionId) required; a stale version is 412"})
			res.Operation = []operation{
				{Name: "everything", Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"},
				{Name: "find", Definition: "https://opengpsoc.org/fhir/OperationDefinition/Patient-find"},
				{Name: "changes", Definition: "https://opengpsoc.org/fhir/OperationDefinition/Patient-changes"},
			}
		} else if t == "Appointment" {
			res.Interaction = append(res.Interaction, interaction{Code: "update",
				Documentation: "only to move its status (arrived, fulfilled, noshow, cancelled) or mark it entered-in-error (reason in comment); If-Match required"})
		} else if t == "MedicationRequest" {
			res.Interaction = append(res.Interaction, interaction{Code: "update",
				Documentation: "only as a prescribing action: issue a repeat (numberOfPrescriptionsIssued one more), re-authorise (numberOfRepeatsAllowed), stop (status stopped, statusReason), or entered-in-error (reason in note); If-Match required"})
		} else if t == "Schedule" {
			res.Interaction = append(res.Interaction, interaction{Code: "update",
				Documentation: "only to mark a session entered in error (active false, reason in comment); If-Match required"})
		} else {
			res.Interaction = append(res.Interaction, interaction{Code: "update",
				Documentation: "only to mark a record entered-in-error (reason in note); If-Match required"})
		}
		for _, p := range paramsOf(t) {
			res.SearchParam = append(res.SearchParam, param{p.Name, p.Type, p.Doc})
		}
		res.SearchParam = append(res.SearchParam, param{"_count", "number", "page size (default 50, at most 1000)"},
			param{"_offset", "number", "page start"}, param{"_sort", "special", sortDoc(t)})
		rs = append(rs, res)
	}
	// The practice, its users and its audit trail (server/practice.go).
	rs = append(rs,
		resource{Type: "Organization", Versioning: "versioned-update",
			Interaction: []interaction{{Code: "read"}, {Code: "search-type"},
				{Code: "update", Documentation: "the practice's name and settings: admins only; If-Match required, a stale version is 412"}},
			SearchParam: []param{{"identifier", "token", "ODS code"}, {"_id", "token", "ODS code"}}},
		resource{Type: "Practitioner", Versioning: "versioned-update",
			Interaction: []interaction{{Code: "read"}, {Code: "search-type"}, {Code: "create", Documentation: "a new user: admins only"},
				{Code: "update", Documentation: "a user's role, registration and prescriber flag: admins only; If-Match required, a stale version is 412"}},
			SearchParam: []param{{"identifier", "token", "user name (" + fhir.SystemUserName + "|name)"}, {"_id", "token", "logical id"}}},
		resource{Type: "AuditEvent", Versioning: "no-version",
			Interaction: []interaction{{Code: "search-type", Documentation: "the hash-chained trail, oldest first: admins only"},
				{Code: "create", Documentation: "an event the workstation reports; recorded under the token's user and the server's clock"}},
			SearchParam: []param{{"seq", "number", "gtN: events after sequence N"}, {"_count", "number", "page size"},
				{"_sort", "special", "seq or -seq (with _count=1: the chain's head)"}}})
	if s.o.Codes != nil {
		// the code pickers' search (server/valueset.go)
		rs = append(rs, resource{Type: "ValueSet", Operation: []operation{{Name: "expand",
			Definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"}}})
	}
	if s.o.Cohort != nil {
		// population searches run where the data is (server/cohort.go)
		rs = append(rs, resource{Type: "Group",
			Interaction: []interaction{{Code: "read", Documentation: "a register or indicator by its id (DM, DM006), run now; ?on=DATE sets the reference date"}},
			Operation: []operation{{Name: "search", Definition: fhir.OpGroupSearch},
				{Name: "explain", Definition: fhir.OpGroupExplain}}})
	}
	cs := map[string]any{
		"resourceType":   "CapabilityStatement",
		"status":         "active",
		"date":           time.Now().UTC().Format("2006-01-02"),
		"kind":           "instance",
		"software":       map[string]string{"name": "gpsoc", "version": s.o.Version},
		"implementation": map[string]string{"description": "openGPSoC practice record", "url": baseURL(r)},
		"fhirVersion":    "4.0.1",
		"format":         []string{"application/fhir+json", "json"},
		"rest": []any{map[string]any{
			"mode": "server",
			"security": map[string]any{
				"cors": false,
				// SMART's oauth-uris: where a client learns whose its token is (server/introspect.go).
				"extension": []any{map[string]any{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
					"extension": []any{map[string]any{"url": "introspect", "valueUri": baseURL(r) + "introspect"}}}},
				"description": "Bearer tokens made by `gpsoc user token NAME`; each maps to a practice user and role. Every call is audited. A record marked sensitive opens only with a reason in the X-Access-Reason header.",
			},
			"resource": rs,
			"operation": []operation{{Name: "process-message",
				Definition: "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"},
				{Name: "inbox", Definition: "https://opengpsoc.org/fhir/OperationDefinition/inbox"}},
			"interaction": []interaction{{Code: "transaction", Documentation: "all or nothing; imported under the FHIR import rules (POST and PUT entries); a new current MedicationRequest is prescribing: it passes the prescribing safety checks, and an alert not answered in the record-extra extension's alertAnswers refuses the Bundle (422, an OperationOutcome issue per alert)"}, {Code: "batch", Documentation: "as transaction"}},
		}},
	}
	b, _ := json.Marshal(cs)
	w.Header().Set("Content-Type", fhirJSON)
	_, _ = w.Write(b)
}

func sortDoc(t string) string {
	if t == "Patient" {
		return "family, given, name, birthdate, _lastUpdated, _id (- for descending); default family,given"
	}
	return "date, _lastUpdated, _id (- for descending); default -date"
}
