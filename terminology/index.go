package terminology

import (
	"context"

	"github.com/opengpsoc/gpsoc/find"
)

// buildTermIndex builds the search backend for one source's terms: the shared fuzzy index
// of find/ (the same one the patient finder uses).
func buildTermIndex(codes []string, rows []termRow) termIndex {
	ts := make([]find.Term, len(rows))
	for i, r := range rows {
		ts[i] = find.Term{Code: codes[r.id], Term: r.term, Preferred: r.flags&termPreferred != 0, Active: r.flags&termActive != 0}
	}
	return findIndex{find.BuildTerms(ts)}
}

type findIndex struct{ ix *find.Terms }

type findTerm = find.Term

// referenceTerms is find's plain matcher: the index's semantics without building it.
func referenceTerms(ts []find.Term, q string, limit int, keep func(int) bool) []termHit {
	hits := find.ReferenceTerms(ts, q, limit, keep)
	out := make([]termHit, len(hits))
	for i, h := range hits {
		out[i] = termHit{Index: h.Index, Score: h.Score}
	}
	return out
}

func (f findIndex) Search(ctx context.Context, q string, limit int, keep func(int) bool) []termHit {
	hits := f.ix.Search(ctx, q, limit, keep)
	out := make([]termHit, len(hits))
	for i, h := range hits {
		out[i] = termHit{Index: h.Index, Score: h.Score}
	}
	return out
}
