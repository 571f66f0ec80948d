package clinical

import "github.com/opengpsoc/gpsoc/store"

// StoreOf is the store a practice is on, for tests that look at what the
// services wrote (the services themselves never hand it out).
func StoreOf(p *Practice) store.Store { return p.st }
