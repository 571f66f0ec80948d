package fhir

import (
	"strconv"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// The practice and its users as the API serves them (`gpsoc serve` ⇄
// store/remote): an Organization and Practitioners that carry, besides the
// UK Core fields, what the practice file holds of them (settings, role,
// prescriber flag) in the record-extra extension, and their version in
// meta.versionId. API token hashes are the server's secret: no mapping
// carries them.

type practiceExtra struct {
	Demo       bool              `json:"demo,omitempty"`
	Settings   map[string]string `json:"settings"`
	RecordedBy string            `json:"recordedBy,omitempty"`
}

// PracticeResource maps the practice as the API serves it: the
// Organization of OrganizationResource, with the practice's version, when
// and by whom it was last changed, and its settings (the workstation
// passphrase only as its salted hash, which a workstation needs to unlock).
func (c *Context) PracticeResource() *Organization {
	r := c.OrganizationResource()
	pr := c.Practice
	if r.Meta == nil {
		r.Meta = &Meta{}
	}
	if pr.Version > 0 {
		r.Meta.VersionID = strconv.Itoa(pr.Version)
	}
	if !pr.RecordedAt.IsZero() {
		r.Meta.LastUpdated = pr.RecordedAt.UTC().Format(time.RFC3339Nano)
	}
	st := pr.Settings
	if st == nil {
		st = map[string]string{}
	}
	r.Extension = extraExt(practiceExtra{Demo: pr.Demo, Settings: st, RecordedBy: pr.RecordedBy})
	return r
}

// PracticeFrom reads a practice back from an Organization: its ODS code
// (the identifier), name, version and, when it carries this system's
// extension, its settings (settings false: the Organization says nothing of them).
func PracticeFrom(r *Organization) (p record.Practice, settings bool) {
	for _, id := range r.Identifier {
		if id.System == record.SystemODS {
			p.ODS = id.Value
		}
	}
	p.Name = r.Name
	if r.Meta != nil {
		p.Version, _ = strconv.Atoi(r.Meta.VersionID)
		p.RecordedAt, _ = time.Parse(time.RFC3339Nano, r.Meta.LastUpdated)
	}
	var x practiceExtra
	if recordExtra(r.Extension, &x) {
		p.Demo, p.Settings, p.RecordedBy, settings = x.Demo, x.Settings, x.RecordedBy, true
	}
	if p.Settings == nil {
		p.Settings = map[string]string{}
	}
	return p, settings
}

// UserResource maps a user as the API serves it: the Practitioner of
// PractitionerResource (role and prescriber flag in the record-extra
// extension) with when the user was last changed.
func (c *Context) UserResource(u record.User) *Practitioner {
	r := c.PractitionerResource(u)
	if r.Meta == nil {
		r.Meta = &Meta{}
	}
	if !u.RecordedAt.IsZero() {
		r.Meta.LastUpdated = u.RecordedAt.UTC().Format(time.RFC3339Nano)
	}
	return r
}

// UserFromResource reads a user back from a Practitioner the API served,
// with its version and when it was last changed; false for a practitioner
// that is not a user of this system.
func UserFromResource(r *Practitioner) (record.User, bool) {
	u, ok := UserFrom(r)
	if ok && r.Meta != nil {
		u.Version, _ = strconv.Atoi(r.Meta.VersionID)
		u.RecordedAt, _ = time.Parse(time.RFC3339Nano, r.Meta.LastUpdated)
	}
	return u, ok
}
