// Package bad is a planted violation of the one door: a package other than
// clinical writing to the store directly. The house test must find it.
package bad

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Sneak writes a patient without the services: no role, no validation, no audit.
func Sneak(ctx context.Context, st store.Store, p *record.Patient) error {
	return st.Update(ctx, func(tx store.WTx) error { return tx.Put(p) })
}

// Forge appends an audit event of its own.
func Forge(ctx context.Context, st store.Store) error {
	return st.Update(ctx, func(tx store.WTx) error {
		return tx.Append(&record.AuditEvent{User: "someone else"})
	})
}

// Overwrite replaces a whole store with another's content, outside the one
// admin-only, audited migration.
func Overwrite(ctx context.Context, src store.Dumper, dst store.Loader) error {
	return dst.Load(ctx, src)
}
