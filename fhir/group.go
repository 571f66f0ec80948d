package fhir

// Group is the result of a population search (a register, an indicator's
// denominator, a practice's own search) as `gpsoc serve` returns it: an
// actual group of persons, one member a patient, with the values that
// matched in an extension (ExtSearchMatch) and, for an indicator, the
// member's status (ExtSearchStatus: numerator, exception or denominator).
type Group struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Extension    []Extension   `json:"extension,omitempty"`
	Identifier   []Identifier  `json:"identifier,omitempty"`
	Type         string        `json:"type"`
	Actual       bool          `json:"actual"`
	Name         string        `json:"name,omitempty"`
	Quantity     int           `json:"quantity"`
	Member       []GroupMember `json:"member,omitempty"`
}

// GroupMember is one patient of a Group.
type GroupMember struct {
	Extension []Extension `json:"extension,omitempty"`
	Entity    Reference   `json:"entity"`
}

// OpGroupSearch is the canonical URL of gpsoc serve's population search
// operation (POST Group/$search): a server whose CapabilityStatement
// declares it on Group runs searches where the data is (store/remote asks).
const OpGroupSearch = "https://opengpsoc.org/fhir/OperationDefinition/Group-search"

// OpGroupExplain is the canonical URL of gpsoc serve's explanation of a
// search for one patient (POST Group/$explain?patient=REF): the answer is
// the explanation as JSON (docs/search.md), found and audited where the
// data is.
const OpGroupExplain = "https://opengpsoc.org/fhir/OperationDefinition/Group-explain"

// Extensions of a search result Group.
const (
	ExtSearchMatch = "https://opengpsoc.org/fhir/StructureDefinition/search-match"
	// ExtSearchEvidence (valueString, JSON) is a matching entry as the search
	// engine gave it (role, kind, code, date, value), beside its
	// search-match text, so a gpsoc workstation prints exactly what the same
	// search prints on a practice file. Any other client may ignore it.
	ExtSearchEvidence  = "https://opengpsoc.org/fhir/StructureDefinition/search-evidence"
	ExtSearchStatus    = "https://opengpsoc.org/fhir/StructureDefinition/search-status"
	ExtSearchSensitive = "https://opengpsoc.org/fhir/StructureDefinition/search-sensitive"
	ExtSearchReference = "https://opengpsoc.org/fhir/StructureDefinition/search-reference-date"
	ExtSearchAchieved  = "https://opengpsoc.org/fhir/StructureDefinition/search-achievement"
	// ExtSearchRegistered: the patients registered on the reference date (a register's prevalence is quantity over it).
	ExtSearchRegistered = "https://opengpsoc.org/fhir/StructureDefinition/search-registered"
)
