package store

import (
	"fmt"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// StaleVersion is the conflict of a write that sent version sent of what,
// now at version cur, last written by by at at.
func StaleVersion(what string, sent, cur int, by string, at time.Time) error {
	return &record.ConflictError{What: what, Msg: fmt.Sprintf("stale version %d (current %d)", sent, cur), By: by, At: at}
}

// NextVersion is the version a write of what takes: 1 when nothing is
// there yet; the current version plus one when the writer sent the current
// one; otherwise a StaleVersion conflict. Every backend versions practice
// settings and users this way.
func NextVersion(what string, sent int, exists bool, cur int, by string, at time.Time) (int, error) {
	if !exists {
		return 1, nil
	}
	if sent != cur {
		return 0, StaleVersion(what, sent, cur, by, at)
	}
	return cur + 1, nil
}

// RecordMeta is what a write reads of a record's current version; each
// backend decodes the stored record into it (or a struct embedding it).
type RecordMeta struct {
	Version    int       `json:"version"`
	RecordedBy string    `json:"recordedBy"`
	RecordedAt time.Time `json:"recordedAt"`
	PatientID  string    `json:"patientId"`
	NHSNumber  string    `json:"nhsNumber"`
}

// CheckWrite refuses a write of the record (kind, id) that was sent with a
// version other than the current one (a conflict naming who wrote the
// current one), or that moves the record to another patient. Every backend
// checks a record write this way.
func (c RecordMeta) CheckWrite(kind record.Kind, id string, sent int, patientID string) error {
	if c.Version != sent {
		return &record.ConflictError{What: string(kind) + " " + id,
			Msg: fmt.Sprintf("stale version %d: the record is now at version %d", sent, c.Version),
			By:  c.RecordedBy, At: c.RecordedAt}
	}
	if c.PatientID != patientID {
		return record.Invalid("patientId", patientID, "a record cannot move to another patient")
	}
	return nil
}
