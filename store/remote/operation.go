package remote

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opengpsoc/gpsoc/store"
)

// Operation posts in to the server's operation $name and decodes the
// answer into out (store.Operations). Only gpsoc serve offers gpsoc's own
// operations: another server's answer is store.ErrNoOperation, naming it.
func (s *Store) Operation(ctx context.Context, name string, in, out any) error {
	if !s.gpsoc {
		return fmt.Errorf("%w: %s is not gpsoc serve, and $%s is gpsoc's own", store.ErrNoOperation, s.base, name)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var raw []byte
	if err := s.do(ctx, "POST", "$"+name, body, map[string]string{"Content-Type": "application/json"}, &raw); err != nil {
		return typed(err, "$"+name)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("$%s: %w", name, err)
	}
	return nil
}
