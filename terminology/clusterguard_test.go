package terminology_test

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/fixtures/embedded"
	"github.com/opengpsoc/gpsoc/terminology"
)

// citesCluster is a supplement source that names a QOF cluster (an NHS England Primary Care
// Domain reference set, such as HYPRES_COD) as where the code and term come from.
var citesCluster = regexp.MustCompile(`(?i)primary care domain|QOF cluster|\b[A-Z0-9]+_COD\b|qof/`)

// clusterOnly lists the supplement rows that put a QOF cluster's concept into the embedded
// default on the cluster's word alone: the concept is in a cluster of the UK reference pack,
// the IPS free set lacks it, and its row cites the cluster.
func clusterOnly(rows [][]string, ips, clusters map[string]string) []string {
	var out []string
	for _, r := range rows {
		code, source := r[0], r[3]
		cl, inCluster := clusters[code]
		if _, inIPS := ips[code]; inCluster && !inIPS && citesCluster.MatchString(source) {
			out = append(out, code+" "+r[1]+" (in "+cl+")")
		}
	}
	return out
}

// The rule: the QOF clusters are carried as the UK reference pack, loaded as code
// lists; their terms are not added to the embedded default terminology (SNOMED CT UK content
// under the UK licence stays in the pack). Every concept of the default that is in a cluster
// must come from somewhere else too: the IPS free set, the dm+d ingredients, or a supplement
// row citing an independent published source. A practice that wants every cluster code
// imports the UK release.
func TestEmbeddedDefaultHoldsNoClusterOnlyConcept(t *testing.T) {
	clusters := map[string]string{}
	files, err := fs.Glob(embedded.QOF, "qof/*.csv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no clusters in the reference pack (%v)", err)
	}
	for _, f := range files {
		rows := readCSV(t, embedded.QOF, f)
		name := strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(f, "qof/nhsd-primary-care-domain-refsets-"), ".csv"))
		for _, r := range rows[1:] {
			clusters[r[0]] = name
		}
	}
	ips := map[string]string{}
	tsvs, _ := fs.Glob(embedded.FS, "snomed/*.tsv")
	for _, f := range tsvs {
		fh, err := embedded.FS.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if code, term, ok := strings.Cut(sc.Text(), "\t"); ok {
				ips[code] = term
			}
		}
		fh.Close()
	}
	supp := readCSV(t, embedded.FS, "supplement.csv")[1:]

	// the check bites: the resolved code a previous change put in the supplement
	bad := [][]string{{"162659009", "Hypertension resolved", "404684003", "QOF cluster HYPRES_COD (NHS England Primary Care Domain reference set)"}}
	if got := clusterOnly(bad, ips, clusters); len(got) != 1 {
		t.Fatalf("the guard misses a cluster-only row: %v", got)
	}
	for _, row := range clusterOnly(supp, ips, clusters) {
		t.Errorf("supplement.csv puts a QOF cluster's concept into the embedded default on the cluster's word alone: %s", row)
	}

	// and in the built default: each cluster concept it holds is in the IPS set or has a
	// supplement row (checked above), or is a dm+d ingredient substance.
	inSupp := map[string]bool{}
	for _, r := range supp {
		inSupp[r[0]] = true
	}
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	held := 0
	for code, cl := range clusters {
		d, err := tm.Concept(terminology.SystemSNOMED, code)
		if errors.As(err, new(*terminology.NotFoundError)) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		held++
		if _, ok := ips[code]; ok || inSupp[code] {
			continue
		}
		substance := false
		for _, p := range d.Parents {
			substance = substance || p.Code == "105590001"
		}
		if !substance {
			t.Errorf("%s %q (in %s) is a concept of the embedded default from neither the IPS set, the supplement nor dm+d", code, d.PreferredTerm, cl)
		}
	}
	for _, code := range []string{"162659009", "315051004", "939211000000104"} {
		if _, err := tm.Concept(terminology.SystemSNOMED, code); !errors.As(err, new(*terminology.NotFoundError)) {
			t.Errorf("resolved code %s is a concept of the embedded default (err %v)", code, err)
		}
	}
	t.Logf("%d of %d cluster codes are concepts of the embedded default (from the IPS set or cited rows)", held, len(clusters))
}

func readCSV(t *testing.T, fsys fs.FS, name string) [][]string {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rows
}
