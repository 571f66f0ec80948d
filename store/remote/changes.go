package remote

import (
	"errors"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
)

// followedTypes are the resource types a patient's record is made of: a
// write to any of them is a change to the patient (as the local store's
// change feed counts it), so an open record follows an allergy or a result
// added by another vendor's client, not only a change of demographics.
var followedTypes = []string{"Patient", "AllergyIntolerance", "Condition", "MedicationRequest", "Observation",
	"Encounter", "Immunization", "Appointment", "Task"}

// patientOf is the patient a resource belongs to ("" for none).
func patientOf(r fhir.Resource) string {
	var ref *fhir.Reference
	switch x := r.(type) {
	case *fhir.Patient:
		return x.ID
	case *fhir.Observation:
		ref = x.Subject
	case *fhir.Condition:
		ref = x.Subject
	case *fhir.Encounter:
		ref = x.Subject
	case *fhir.MedicationRequest:
		ref = &x.Subject
	case *fhir.AllergyIntolerance:
		ref = &x.Patient
	case *fhir.Immunization:
		ref = &x.Patient
	case *fhir.Task:
		ref = x.For
	case *fhir.Appointment:
		for _, p := range x.Participant {
			if p.Actor != nil && strings.HasPrefix(p.Actor.Reference, "Patient/") {
				ref = p.Actor
			}
		}
	}
	if ref == nil {
		return ""
	}
	id, ok := strings.CutPrefix(strings.Split(ref.Reference, "/_history/")[0], "Patient/")
	if !ok {
		return ""
	}
	return id
}

// typesHead is the newest lastUpdated across the followed types (asked of
// them all at once: a record opening waits for one round trip, not nine).
func (t *tx) typesHead() (uint64, error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var last uint64
	var firstErr error
	for _, typ := range followedTypes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var newest uint64
			_, err := t.s.search(t.ctx, typ, url.Values{"_sort": {"-_lastUpdated"}, "_count": {"1"}}, func(r fhir.Resource) error {
				if at := lastUpdated(r); !at.IsZero() {
					newest = uint64(at.UnixMilli())
				}
				return errStopSearch
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !errors.Is(err, errStopSearch) && firstErr == nil {
				firstErr = err
			}
			last = max(last, newest)
		}()
	}
	wg.Wait()
	return last, firstErr
}

// typesPoll asks each followed type for what changed after the cursor
// (reaching back lateCommit: a write stamped before the cursor may commit
// after it was read; what falls in the window is reported again, which
// costs a reload at most), in the server's lastUpdated order.
func (t *tx) typesPoll(after uint64) (uint64, []change, error) {
	from := int64(after) - lateCommit.Milliseconds()
	since := time.UnixMilli(max(from, 0)).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	last := after
	var out []change
	for _, typ := range followedTypes {
		_, err := t.s.search(t.ctx, typ, url.Values{"_lastUpdated": {"gt" + since}, "_sort": {"_lastUpdated"}}, func(r fhir.Resource) error {
			seq := uint64(lastUpdated(r).UnixMilli())
			last = max(last, seq)
			if id := patientOf(r); id != "" {
				out = append(out, change{seq, id})
			}
			return nil
		})
		if err != nil {
			return after, nil, err // the cursor stays: nothing is lost
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return last, out, nil
}

// change is one entry of the feed: a patient changed at seq.
type change struct {
	seq uint64
	id  string
}

// changeCache is the last polls' changes, so callers asking between polls
// (each with its own cursor) are answered without asking the server, and
// one caller polling does not leave the others with nothing.
type changeCache struct {
	mu       sync.Mutex
	at       time.Time // the last poll
	valid    bool
	from, to uint64 // the changes in (from, to] are all in items
	items    []change
}

// maxCachedChanges bounds the cache; a caller behind it polls for itself.
const maxCachedChanges = 10000

func (c *changeCache) answer(after uint64, every time.Duration, poll func(uint64) (uint64, []change, error), fn func(uint64, string) error) (uint64, error) {
	c.mu.Lock()
	if c.valid && after >= c.from && time.Since(c.at) < every {
		var items []change
		for _, x := range c.items {
			if x.seq > after {
				items = append(items, x)
			}
		}
		last := max(after, c.to)
		c.mu.Unlock()
		return last, emit(items, fn)
	}
	c.mu.Unlock()
	last, items, err := poll(after)
	if err != nil {
		return after, err
	}
	c.mu.Lock()
	c.merge(after, last, items)
	c.mu.Unlock()
	return last, emit(items, fn)
}

func (c *changeCache) merge(after, last uint64, items []change) {
	c.at = time.Now()
	if c.valid && c.from <= after && after <= c.to {
		keep := c.items[:0:0]
		for _, x := range c.items {
			if x.seq <= after {
				keep = append(keep, x)
			}
		}
		c.items = append(keep, items...)
		c.to = max(c.to, last)
	} else {
		c.valid, c.from, c.to, c.items = true, after, last, append([]change(nil), items...)
	}
	if n := len(c.items) - maxCachedChanges; n > 0 {
		c.from = c.items[n-1].seq
		c.items = append([]change(nil), c.items[n:]...)
	}
}

func emit(items []change, fn func(uint64, string) error) error {
	for _, x := range items {
		if err := fn(x.seq, x.id); err != nil {
			return err
		}
	}
	return nil
}
