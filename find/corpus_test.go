package find

import (
	"slices"
	"time"

	"github.com/opengpsoc/gpsoc/internal/findcorpus"
)

// The synthetic corpora and standard queries live in internal/findcorpus
// (the shipped package carries none of them); these give them find's types.

func SyntheticPatients(n int, seed int64) []Patient {
	src := findcorpus.SyntheticPatients(n, seed)
	out := make([]Patient, len(src))
	for i, p := range src {
		out[i] = Patient(p)
	}
	return out
}

func SyntheticTerms(n int, seed int64) []Term {
	src := findcorpus.SyntheticTerms(n, seed)
	out := make([]Term, len(src))
	for i, t := range src {
		out[i] = Term(t)
	}
	return out
}

func StandardQueries(corpus string) []string { return findcorpus.StandardQueries(corpus) }

func fillPatientQuery(q string, p Patient) string {
	return findcorpus.FillPatientQuery(q, findcorpus.Patient(p))
}

func fillCodeQuery(q string, t Term) string { return findcorpus.FillCodeQuery(q, findcorpus.Term(t)) }

func PatientDisplay(p Patient) string { return findcorpus.PatientDisplay(findcorpus.Patient(p)) }

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
