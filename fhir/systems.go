package fhir

import "github.com/opengpsoc/gpsoc/record"

// UK Core and HL7 URIs (reference/standards.md §1.2–1.4).
const (
	ProfileBase = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"

	ExtNHSVerification    = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
	CSNHSVerification     = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
	ExtNHSUnavailable     = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberUnavailableReason"
	ExtRepeatInformation  = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation"
	SystemODSSite         = "https://fhir.nhs.uk/Id/ods-site-code"
	SystemSDSUser         = "https://fhir.nhs.uk/Id/sds-user-id"
	SystemGMC             = "https://fhir.hl7.org.uk/Id/gmc-number"
	SystemGMP             = "https://fhir.hl7.org.uk/Id/gmp-number"
	SystemNMC             = "https://fhir.hl7.org.uk/Id/nmc-number"
	SystemGPhC            = "https://fhir.hl7.org.uk/Id/gphc-number"
	SystemRxNorm          = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemCVX             = "http://hl7.org/fhir/sid/cvx"
	CSConditionClinical   = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	CSConditionVer        = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	CSConditionCategory   = "http://terminology.hl7.org/CodeSystem/condition-category"
	CSAllergyClinical     = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	CSAllergyVer          = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	CSActCode             = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	CSCourseOfTherapy     = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"
	CSObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	CSAuditEventType      = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	CSSecuritySourceType  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	CSDataOperation       = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
	CSConfidentiality     = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	// CSActReason HTEST marks test (synthetic) health data: the demo practice's tag.
	CSActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
)

// openGPSoC's own URIs, for what UK Core has no home for. A re-import into
// gpsoc reads them back, so an export loses nothing.
const (
	OurBase = "https://opengpsoc.org/fhir/"
	// SystemUserName identifies a practice user (Practitioner) by gpsoc user name.
	SystemUserName = OurBase + "Id/user-name"
	// SystemRecordID is a gpsoc record id (kind/id), for references to what the export does not carry.
	SystemRecordID = OurBase + "Id/record"
	// ExtRecord carries, as JSON, the fields of a record that FHIR has no element for.
	ExtRecord = OurBase + "StructureDefinition/record-extra"
	// ExtImportedAudit (valueString: the system it came from) labels an
	// AuditEvent of a trail imported from another system: history kept
	// apart from the practice's own chain.
	ExtImportedAudit = OurBase + "StructureDefinition/imported-audit"
	// ExtImported (valueString: the JSON of record.ImportedFrom) marks a
	// record that came in with a bulk import of history from another system,
	// with its original author; a meta tag (CSRecordOrigin) says so to a reader.
	ExtImported = OurBase + "StructureDefinition/imported"
	// CSRecordOrigin is the meta tag code system of that mark (code "imported").
	CSRecordOrigin = OurBase + "CodeSystem/record-origin"
	// ExtRegistration: registration type and dates at the practice.
	ExtRegistration = OurBase + "StructureDefinition/registration"
	// ExtForeignCode (valueBoolean true) flags a recorded coding outside the UK
	// terminologies (LOINC, RxNorm, CVX… from an import), kept as given.
	ExtForeignCode = OurBase + "StructureDefinition/foreign-code"
	// ExtSlotMinutes (valueUnsignedInt) on a Schedule is the length in minutes
	// of each bookable slot of the session (Schedule has no element for it).
	ExtSlotMinutes       = OurBase + "StructureDefinition/slot-minutes"
	CSConsultationType   = OurBase + "CodeSystem/consultation-type"
	CSAppointmentMode    = OurBase + "CodeSystem/appointment-mode"
	CSTaskType           = OurBase + "CodeSystem/task-type"
	CSNoNHSReason        = OurBase + "CodeSystem/no-nhs-reason"
	CSAuditAction        = OurBase + "CodeSystem/audit-action"
	CSWarningFlag        = OurBase + "CodeSystem/warning-flag"
	TagDemoCode          = "HTEST"
	TagDemoDisplay       = "test health data"
	procedureMarker      = "[procedure"
	UnitNotStated        = record.UnitNotStated
	DoseNotStated        = "(dose not stated in the imported record)"
	ClinicianNotRecorded = "(not recorded)"
)

// CSSafetyAlert and CSSafetyAlertSeverity code a prescribing safety alert
// (its id; high, moderate or low) in an OperationOutcome issue's details.
const (
	CSSafetyAlert         = OurBase + "CodeSystem/safety-alert"
	CSSafetyAlertSeverity = OurBase + "CodeSystem/safety-alert-severity"
)

// SNOMED CT concepts used in mappings.
const (
	SCTSystolic        = "271649006"
	SCTDiastolic       = "271650006"
	SCTBloodPressure   = "75367002"
	SCTNoKnownAllergy  = "716186003"
	SCTDegradedEntry   = "196411000000103"
	SCTDegradedDrugAll = "196461000000101"
	LOINCBP            = "85354-9"
	LOINCSystolic      = "8480-6"
	LOINCDiastolic     = "8462-4"
)

// UKSystem reports whether a code system is one of the UK terminologies
// (SNOMED CT, dm+d, Read v2, CTV3). Codes in other systems (LOINC, RxNorm,
// CVX…) are kept as given and flagged.
func UKSystem(s string) bool {
	switch s {
	case record.SystemSNOMED, record.SystemDMD, record.SystemRead2, record.SystemCTV3:
		return true
	}
	return false
}
