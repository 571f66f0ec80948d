package server

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/interop/pathology"
)

// processMessage is POST /$process-message: a laboratory's feed (an
// interface user; clinicians and admins may too) delivers a FHIR UK Core
// pathology message Bundle into the results inbox through the one door
// (clinical.Service.DeliverReport: role, matching, audit). A message that
// is not a report is a 400 naming the path; a report is never refused for
// its values. The answer is a response message: a MessageHeader whose
// response names the message answered and says ok, and an
// OperationOutcome saying what became of the report (matched, unmatched,
// duplicate, auto-filed) and its id.
func (s *Server) processMessage(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return errorf(http.StatusRequestEntityTooLarge, "too-costly", "$process-message: %s", err.Error())
	}
	rep, err := pathology.ParseFHIR(body)
	if err != nil {
		return errorf(http.StatusBadRequest, "structure", "$process-message: %s", err.Error())
	}
	d, err := svc.DeliverReport(r.Context(), rep)
	if err != nil {
		return err
	}
	msg := d.Outcome
	if d.Corrected {
		msg += ", corrected (supersedes " + d.Report.Supersedes + ")"
	}
	if d.Report.Unmatched != "" {
		msg += ": " + d.Report.Unmatched
	}
	oo := &fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: []fhir.OutcomeIssue{{
		Severity: "information", Code: "informational", Diagnostics: "report " + d.Report.ID + " " + msg}}}
	hdr := map[string]any{
		"resourceType": "MessageHeader",
		"eventCoding":  map[string]string{"system": "https://fhir.nhs.uk/CodeSystem/message-event", "code": "pathology-test-report"},
		"source":       map[string]string{"endpoint": "urn:gpsoc:" + svc.PracticeInfo().ODS},
		"response":     map[string]string{"identifier": rep.MessageID, "code": "ok"},
	}
	out := map[string]any{
		"resourceType": "Bundle", "type": "message", "timestamp": time.Now().UTC().Format(time.RFC3339),
		"entry": []map[string]any{{"resource": hdr}, {"resource": oo}},
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// inbox is POST /$inbox: the results inbox for a workstation in remote
// mode (clinical/inbox_remote.go). The body names the service method and
// its input; the acting user's services run it (roles, audit) and the
// answer is its JSON.
func (s *Server) inbox(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	var call clinical.InboxCall
	if err := json.NewDecoder(r.Body).Decode(&call); err != nil {
		return errorf(http.StatusBadRequest, "structure", "$inbox: %s", err.Error())
	}
	out, err := svc.ServeInbox(r.Context(), call)
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
	return nil
}
