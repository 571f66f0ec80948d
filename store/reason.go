package store

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
)

type reasonKey struct{}

// WithAccessReason carries the reason a sensitive record is opened with the
// reads of one service call. A local backend has no use for it (the services
// check and audit the reason themselves); a server backend sends it with
// the request it belongs to (X-Access-Reason), so the server, which keeps
// the audit trail, checks and records it.
func WithAccessReason(ctx context.Context, reason string) context.Context {
	if reason == "" {
		return ctx
	}
	return context.WithValue(ctx, reasonKey{}, reason)
}

// AccessReason is the reason WithAccessReason put in ctx ("" when none).
func AccessReason(ctx context.Context) string {
	r, _ := ctx.Value(reasonKey{}).(string)
	return r
}

// PatientFinder is implemented by backends whose server finds patients
// itself (`gpsoc serve`'s Patient/$find): the find is then the server's,
// audited there with its query, instead of the local index's. The patients
// come best first; ok is false when this server has no find of its own
// (another vendor's), and the local index serves.
type PatientFinder interface {
	FindPatients(ctx context.Context, q string, limit int) (ps []*record.Patient, ok bool, err error)
}
