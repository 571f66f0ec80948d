// Package badlayer is a planted layering violation: an interop-like package
// that reaches the store. The house test must find it.
package badlayer

import (
	"context"

	"github.com/opengpsoc/gpsoc/store"
)

// Peek reads the store behind the services' back.
func Peek(ctx context.Context, st store.Store) error {
	return st.View(ctx, func(tx store.Tx) error { return nil })
}

var _ = func(tx store.WTx) {}
