package cohort_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// The cache gives the same index while nothing changed, builds again after
// any write, and never serves a user without the search right.
func TestCacheFollowsChanges(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := clinical.New(clinical.Options{Store: st})
	if _, err := p.Init(ctx, "Test Surgery", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	for _, u := range []record.User{{Name: "dr.gp", Role: record.RoleGP}, {Name: "recep", Role: record.RoleReceptionist}} {
		if _, err := admin.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	gp, _ := p.As(ctx, "dr.gp")
	recep, _ := p.As(ctx, "recep")
	if _, err := gp.AddPatient(ctx, &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"Ann"}, BirthDate: "1961-03-12", Sex: "female"}); err != nil {
		t.Fatal(err)
	}
	var c cohort.Cache
	a, err := c.Get(ctx, gp)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Get(ctx, gp)
	if a != b {
		t.Fatal("nothing changed, yet the index was built again")
	}
	if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: "9434765919", Code: "38341003", Onset: "2015-01-01"}); err != nil {
		t.Fatal(err)
	}
	d, _ := c.Get(ctx, gp)
	if d == a {
		t.Fatal("a new problem did not make the cache build again")
	}
	sets := singleSet{"38341003": true}
	def, _ := cohort.Parse("t", "search \"h\"\nselect has code in ecl \"<< 38341003\"\n")
	res, err := cohort.NewEngine(d, sets, nil).NewRun(cohort.Day(p.Now())).Evaluate(def)
	if err != nil || res.Count() != 1 {
		t.Fatalf("the rebuilt index misses the new problem: %v %v", res, err)
	}
	var pe *record.PermissionError
	if _, err := c.Get(ctx, recep); !errors.As(err, &pe) {
		t.Fatalf("reception got the cached index: %v", err)
	}
}

type singleSet map[string]bool

func (s singleSet) Contains(_, code string) bool                       { return s[code] }
func (s singleSet) CodeSet(string, string) (cohort.CodeSet, error)     { return s, nil }
func (s singleSet) MedicineSet(string, string) (cohort.CodeSet, error) { return s, nil }
