package terminology_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
	"github.com/opengpsoc/gpsoc/terminology/rf2gen"
)

// gpPackage writes a small RF2 package (International layout) with what the pickers must
// tell apart after a real release replaces the embedded default: a disorder, its screening
// procedure, its family-history situation and an observable, with FSNs and UK preferred
// terms. Codes and terms as in SNOMED CT; the hierarchy is cut to the top levels.
func gpPackage(t *testing.T, dir string) {
	t.Helper()
	term := filepath.Join(dir, "Snapshot", "Terminology")
	if err := os.MkdirAll(term, 0o755); err != nil {
		t.Fatal(err)
	}
	const eff, mod = "20240410", "900000000000207008"
	type c struct{ id, parent, fsn, pt string }
	cs := []c{
		{"138875005", "", "SNOMED CT Concept (SNOMED RT+CTV3)", "SNOMED CT Concept"},
		{"404684003", "138875005", "Clinical finding (finding)", "Clinical finding"},
		{"71388002", "138875005", "Procedure (procedure)", "Procedure"},
		{"243796009", "138875005", "Situation with explicit context (situation)", "Situation with explicit context"},
		{"363787002", "138875005", "Observable entity (observable entity)", "Observable entity"},
		{"64572001", "404684003", "Disease (disorder)", "Disease"},
		{"38341003", "64572001", "Hypertensive disorder, systemic arterial (disorder)", "Hypertension"},
		{"171222001", "71388002", "Hypertension screening (procedure)", "Hypertension screening"},
		{"160357008", "243796009", "Family history: Hypertension (situation)", "FH: Hypertension"},
		{"161501007", "243796009", "History of hypertension (situation)", "H/O: hypertension"},
		{"28119000", "38341003", "Renal hypertension (disorder)", "Renal hypertension"},
		{"75367002", "363787002", "Blood pressure (observable entity)", "Blood pressure"},
		{"49436004", "64572001", "Atrial fibrillation (disorder)", "Atrial fibrillation"},
	}
	var con, desc, rel []string
	for i, x := range cs {
		con = append(con, x.id+"\t"+eff+"\t1\t"+mod+"\t900000000000074008")
		desc = append(desc,
			x.id+"1"+"\t"+eff+"\t1\t"+mod+"\t"+x.id+"\ten\t900000000000003001\t"+x.fsn+"\t900000000000448009",
			x.id+"2"+"\t"+eff+"\t1\t"+mod+"\t"+x.id+"\ten\t900000000000013009\t"+x.pt+"\t900000000000448009")
		if x.parent != "" {
			rel = append(rel, fmt.Sprint(7000+i)+"\t"+eff+"\t1\t"+mod+"\t"+x.id+"\t"+x.parent+"\t0\t116680003\t900000000000011006\t900000000000451002")
		}
	}
	write := func(name, header string, rows []string) {
		if err := os.WriteFile(filepath.Join(term, name), []byte(header+"\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sct2_Concept_Snapshot_INT_20240410.txt", "id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId", con)
	write("sct2_Description_Snapshot-en_INT_20240410.txt", "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId", desc)
	write("sct2_Relationship_Snapshot_INT_20240410.txt", "id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\ttypeId\tcharacteristicTypeId\tmodifierId", rel)
}

// After a SNOMED CT release import (a small fixture with a synthetic release of the full
// UK shape beside it, imported together), the pickers rank by the release's hierarchy: the
// disorder first, screening and family history below, the shorthand table still working.
func TestPickerRankingAfterRF2Import(t *testing.T) {
	tm, _ := open(t)
	fixture := t.TempDir()
	gpPackage(t, fixture)
	synth := t.TempDir()
	st, err := rf2gen.Write(synth, rf2gen.Scaled(5000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.ImportRF2(fixture, st.Dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct{ q, picker, want string }{
		{"hypertension", terminology.PickerProblem, "38341003"},
		{"htn", terminology.PickerProblem, "38341003"},
		{"af", terminology.PickerProblem, "49436004"},
		{"bp", terminology.PickerConsultation, "75367002"},
		{"hypertension screening", terminology.PickerProblem, "171222001"},
		{"fh hypertension", terminology.PickerProblem, "160357008"},
	} {
		rs, err := tm.Search(ctx, c.q, terminology.SearchOptions{Picker: c.picker, System: "sct", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || rs[0].Code != c.want {
			t.Errorf("%s picker %q after RF2 import: %v, want %s first", c.picker, c.q, rs, c.want)
		}
		if note := tm.SearchNote(rs); note != "" {
			t.Errorf("%q: note %q with a real release imported", c.q, note)
		}
	}
	rs, _ := tm.Search(ctx, "hypertension", terminology.SearchOptions{Picker: terminology.PickerProblem, System: "sct", Limit: 10})
	pos := map[string]int{}
	for i, r := range rs {
		pos[r.Code] = i + 1
	}
	if pos["28119000"] == 0 || (pos["171222001"] != 0 && pos["171222001"] < pos["28119000"]) || (pos["160357008"] != 0 && pos["160357008"] < pos["28119000"]) {
		t.Errorf("hypertension: screening or FH above a disorder: %v", rs)
	}
}
