package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// How an import's references resolve: within the import (fullUrl, Type/id,
// conditional and logical identifiers), then against the practice.

// targets: types other resources refer to, indexed by identifier.
var identTypes = map[string]bool{"Patient": true, "Practitioner": true, "Organization": true, "Encounter": true,
	"Location": true, "Medication": true, "Condition": true, "MedicationRequest": true, "PractitionerRole": true}

func (im *importer) index(it *fitem) {
	if it.res == nil && it.raw == nil {
		return
	}
	if it.fullURL != "" {
		im.byFull[it.fullURL] = it
	}
	id := it.id
	if id != "" {
		im.byTID[it.typ+"/"+id] = it
		if it.base != "" {
			im.byFull[it.base+it.typ+"/"+id] = it
		}
	}
	if !identTypes[it.typ] || it.res == nil {
		return
	}
	for _, x := range identifiersOf(it.res) {
		if x.System != "" && x.Value != "" {
			k := it.typ + "|" + x.System + "|" + x.Value
			if _, dup := im.byIdent[k]; !dup {
				im.byIdent[k] = it
			}
		}
	}
}

func identifiersOf(r fhir.Resource) []fhir.Identifier {
	switch x := r.(type) {
	case *fhir.Patient:
		return x.Identifier
	case *fhir.Practitioner:
		return x.Identifier
	case *fhir.Organization:
		return x.Identifier
	case *fhir.Encounter:
		return x.Identifier
	case *fhir.Condition:
		return x.Identifier
	case *fhir.MedicationRequest:
		return x.Identifier
	case *fhir.Raw:
		var v struct {
			Identifier []fhir.Identifier `json:"identifier"`
		}
		_ = json.Unmarshal(x.JSON, &v)
		return v.Identifier
	}
	return nil
}

// lookup finds the import item a reference points at (nil when it is not in this import).
func (im *importer) lookup(from *fitem, r *fhir.Reference, want string) *fitem {
	if r == nil {
		return nil
	}
	s := r.Reference
	switch {
	case s == "":
	case strings.HasPrefix(s, "#"):
		return nil
	case strings.HasPrefix(s, "urn:"):
		return im.byFull[s]
	case strings.Contains(s, "?"):
		t, sys, val := conditional(s)
		if t == "" {
			return nil
		}
		return im.byIdent[t+"|"+sys+"|"+val]
	default:
		if it := im.byFull[s]; it != nil {
			return it
		}
		if i := strings.Index(s, "/_history/"); i > 0 {
			s = s[:i]
		}
		if from != nil && from.base != "" && !strings.Contains(s, "://") {
			if it := im.byFull[from.base+s]; it != nil {
				return it
			}
		}
		parts := strings.Split(s, "/")
		if len(parts) >= 2 {
			if it := im.byTID[parts[len(parts)-2]+"/"+parts[len(parts)-1]]; it != nil {
				return it
			}
		}
	}
	if r.Identifier != nil {
		t := r.Type
		if t == "" {
			t = want
		}
		return im.byIdent[t+"|"+r.Identifier.System+"|"+r.Identifier.Value]
	}
	return nil
}

// conditional parses Type?identifier=system|value (the system part may be absent).
func conditional(s string) (typ, system, value string) {
	i := strings.IndexByte(s, '?')
	typ = s[:i]
	if j := strings.LastIndexByte(typ, '/'); j >= 0 {
		typ = typ[j+1:]
	}
	for _, kv := range strings.Split(s[i+1:], "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k != "identifier" {
			continue
		}
		if u, err := unescape(v); err == nil {
			v = u
		}
		if sys, val, ok := strings.Cut(v, "|"); ok {
			return typ, sys, val
		}
		return typ, "", v
	}
	return "", "", ""
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return s, err
			}
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// patientRef is the reference a pooled resource makes to its patient.
func patientRef(r fhir.Resource) *fhir.Reference {
	switch x := r.(type) {
	case *fhir.Encounter:
		return x.Subject
	case *fhir.Condition:
		return x.Subject
	case *fhir.Observation:
		return x.Subject
	case *fhir.Procedure:
		return &x.Subject
	case *fhir.MedicationRequest:
		return &x.Subject
	case *fhir.MedicationStatement:
		return &x.Subject
	case *fhir.AllergyIntolerance:
		return &x.Patient
	case *fhir.Immunization:
		return &x.Patient
	case *fhir.Task:
		return x.For
	case *fhir.Appointment:
		for _, p := range x.Participant {
			if p.Actor != nil && (strings.Contains(p.Actor.Reference, "Patient") || p.Actor.Type == "Patient") {
				return p.Actor
			}
		}
	}
	return nil
}

// group turns the pool (bulk NDJSON and loose resources) into units: the
// practice's (Organization, Practitioner) first, one per patient with what
// refers to it, then the rest (provenance follows its target; audit events last).
func (im *importer) group(pool []*fitem) []*funit {
	if len(pool) == 0 {
		return nil
	}
	first := &funit{file: "(practice)"}
	byPat := map[*fitem]*funit{}
	var order []*funit
	rest := &funit{file: "(other)"}
	audit := &funit{file: "(audit trail)"}
	add := func(u *funit, it *fitem) {
		it.unit = u
		u.items = append(u.items, it)
	}
	var later []*fitem
	for _, it := range pool {
		if it.res == nil {
			continue
		}
		switch it.typ {
		case "Organization", "Practitioner":
			add(first, it)
		case "Patient":
			u := &funit{file: it.file}
			byPat[it] = u
			order = append(order, u)
			add(u, it)
		case "AuditEvent":
			add(audit, it)
		default:
			later = append(later, it)
		}
	}
	for _, it := range later {
		var u *funit
		if pr := patientRef(it.res); pr != nil {
			if p := im.lookup(it, pr, "Patient"); p != nil {
				u = byPat[p]
			}
		}
		if pv, ok := it.res.(*fhir.Provenance); ok && len(pv.Target) > 0 {
			if t := im.lookup(it, &pv.Target[0], ""); t != nil && t.unit != nil && t.unit != first {
				u = t.unit
			}
		}
		if u == nil {
			u = rest
		}
		add(u, it)
	}
	out := []*funit{first}
	out = append(out, order...)
	return append(out, rest, audit)
}

// phase orders the resources of a unit for mapping.
func phase(it *fitem) int {
	switch x := it.res.(type) {
	case *fhir.Organization, *fhir.Practitioner:
		return 0
	case *fhir.Patient:
		return 1
	case *fhir.Encounter:
		return 2
	case *fhir.MedicationRequest:
		if x.Intent == "order" && len(x.BasedOn) > 0 {
			return 4
		}
		return 3
	case *fhir.Provenance:
		return 6
	case *fhir.AuditEvent:
		return 7
	case *fhir.Raw, *fhir.Bundle, *fhir.OperationOutcome:
		return 8
	}
	return 3
}

// resolver answers the mappings' questions within one unit's transaction.
type resolver struct {
	im   *importer
	tx   *clinical.ImportTx
	from *fitem
}

func (rs *resolver) ID(r *fhir.Reference, want string) string {
	if it := rs.im.lookup(rs.from, r, want); it != nil {
		if want != "" && it.typ != want {
			return ""
		}
		return it.recID
	}
	// Not in this import: the practice.
	kind := kindOfType(want)
	if kind == "" || r == nil {
		return ""
	}
	var sys, val, id string
	switch s := r.Reference; {
	case strings.Contains(s, "?"):
		_, sys, val = conditional(s)
	case s != "" && !strings.HasPrefix(s, "urn:") && !strings.HasPrefix(s, "#"):
		parts := strings.Split(strings.Split(s, "/_history/")[0], "/")
		if len(parts) >= 2 && parts[len(parts)-2] == want {
			id = parts[len(parts)-1]
		}
	}
	if sys == "" && r.Identifier != nil {
		sys, val = r.Identifier.System, r.Identifier.Value
	}
	if id != "" {
		if _, err := rs.tx.Get(kind, id); err == nil {
			return id
		}
	}
	if kind == record.KindPatient && val != "" {
		if sys == record.SystemNHS {
			if n, err := record.NormaliseNHS(val); err == nil {
				if p, err := rs.tx.PatientByNHS(n); err == nil {
					return p.ID
				}
			}
			return ""
		}
		return rs.tx.PatientByIdentifier(sys, val)
	}
	return ""
}

// kindOfType is the record kind a reference of type t names in the
// practice ("" when the type holds no record, or several kinds).
func kindOfType(t string) record.Kind {
	if ks := fhir.KindsOfType(t); len(ks) == 1 {
		return ks[0]
	}
	return ""
}

func (rs *resolver) User(r *fhir.Reference) (string, bool) {
	if r == nil {
		return "", false
	}
	if r.Identifier != nil && r.Identifier.System == fhir.SystemUserName {
		return r.Identifier.Value, true
	}
	if it := rs.im.lookup(rs.from, r, "Practitioner"); it != nil {
		if p, ok := it.res.(*fhir.Practitioner); ok {
			if u, ok := fhir.UserFrom(p); ok {
				return u.Name, true
			}
		}
		return "", false
	}
	if strings.HasPrefix(r.Reference, "Practitioner/") && r.Display != "" {
		if _, ok := rs.im.users[r.Display]; ok {
			return r.Display, true
		}
	}
	if id, ok := strings.CutPrefix(r.Reference, "Practitioner/"); ok {
		for name := range rs.im.users { // the id the server gives a user's Practitioner
			if fhir.PractitionerID(name) == id {
				return name, true
			}
		}
	}
	return "", false
}

func (rs *resolver) Who(r *fhir.Reference) string {
	if u, ok := rs.User(r); ok {
		return u
	}
	if it := rs.im.lookup(rs.from, r, "Practitioner"); it != nil {
		switch x := it.res.(type) {
		case *fhir.Practitioner:
			if n := fhir.PractitionerName(x); n != "" {
				return n
			}
		case *fhir.Organization:
			if x.Name != "" {
				return x.Name
			}
		case *fhir.Raw:
			var v struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(x.JSON, &v) == nil && v.Name != "" {
				return v.Name
			}
		}
	}
	if r.Display != "" {
		return r.Display
	}
	if r.Identifier != nil && r.Identifier.Value != "" {
		return r.Identifier.System + "|" + r.Identifier.Value
	}
	return ""
}

// recordID is the id a resource's record gets: its own id when it is a UUID
// (ours are), else a name-based UUID of where it came from, so a re-run maps
// it to the same record.
func recordID(it *fitem, salt string) string {
	id := it.id
	if len(id) == 36 {
		if _, err := uuid.Parse(id); err == nil {
			return strings.ToLower(id)
		}
	}
	key := it.typ + "/" + id + "|" + salt
	switch {
	case id != "":
	case it.fullURL != "":
		key = it.fullURL + "|" + salt
	default:
		// Neither id nor fullUrl: the content names it, so a re-run still
		// matches and two different resources never share a record.
		raw := it.raw // not yet decoded (records are named after decoding)
		if it.res != nil {
			raw, _ = fhir.Marshal(it.res)
		}
		sum := sha256.Sum256(raw)
		key = it.typ + "|content:" + hex.EncodeToString(sum[:]) + "|" + salt
	}
	return uuid.NewSHA1(idNamespace, []byte(key)).String()
}
