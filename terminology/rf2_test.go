package terminology_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
)

func TestImportRF2MiniPackage(t *testing.T) {
	tm, _ := open(t)
	info, err := tm.ImportRF2(miniRF2)
	if err != nil {
		t.Fatal(err)
	}
	if info.Embedded || info.Counts["concepts"] != 13 || info.Release != "20210131" {
		t.Errorf("info: %+v", info)
	}
	c, err := tm.Concept("sct", "871866001")
	if err != nil {
		t.Fatal(err)
	}
	if c.PreferredTerm != "Meningitis C vaccine" {
		t.Errorf("871866001: %+v", c)
	}
	// no synonym: the FSN without its semantic tag
	c, _ = tm.Concept("sct", "404684003")
	if c.FSN != "Clinical finding (finding)" || c.PreferredTerm != "Clinical finding" {
		t.Errorf("404684003: %+v", c)
	}
	all, err := tm.ECL("<< 138875005")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 {
		t.Errorf("<< 138875005: %d concepts, want 10: %v", len(all), all)
	}
	below, _ := tm.ECL("< 404684003 |Clinical finding|")
	if len(below) != 1 || below[0].Code != "362969004" || below[0].Term != "Disorder of endocrine system" {
		t.Errorf("< 404684003: %+v", below)
	}
	// the attribute relationship (finding site) is not is-a
	if ok, _ := tm.Subsumes("113331007", "362969004"); ok {
		t.Errorf("finding site must not count as is-a")
	}
	// the SNOMED source was replaced; dm+d was not
	_, err = tm.Subsumes("373270004", "372687004")
	mustNotFound(t, err)
	if _, err := tm.Product("39732411000001106"); err != nil {
		t.Errorf("dm+d source should be untouched: %v", err)
	}
}

func TestImportRF2SeveralPackagesAtOnce(t *testing.T) {
	tm, _ := open(t)
	info, err := tm.ImportRF2(baseRF2, miniRF2)
	if err != nil {
		t.Fatal(err)
	}
	if info.Counts["concepts"] != 20 {
		t.Errorf("concepts %d, want 20 (17 base + 3 only in the newer package)", info.Counts["concepts"])
	}
	for _, code := range []string{"762705008", "12481008", "871866001"} {
		if _, err := tm.Concept("sct", code); err != nil {
			t.Errorf("%s: %v", code, err)
		}
	}
	// 762705008 exists only in the base package and is-a 410662002
	if ok, err := tm.Subsumes("410662002", "762705008"); !ok || err != nil {
		t.Errorf("Subsumes(410662002, 762705008) = %v, %v", ok, err)
	}
	// a description present in both packages: the later effectiveTime wins
	c, _ := tm.Concept("sct", "116680003")
	if c.FSN != "Is a (attribute)" {
		t.Errorf("116680003: %+v", c)
	}
}

// ukPackage writes a small UK-style package (UK file names, CRLF) with language refsets,
// associations and a simple refset.
func ukPackage(t *testing.T, dir string, withLanguage bool) {
	t.Helper()
	term := filepath.Join(dir, "Snapshot", "Terminology")
	ref := filepath.Join(dir, "Snapshot", "Refset")
	os.MkdirAll(term, 0o755)
	os.MkdirAll(ref, 0o755)
	write := func(p string, header string, rows ...string) {
		body := header + "\r\n" + strings.Join(rows, "\r\n") + "\r\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const eff, mod = "20240410", "999000011000000103"
	write(filepath.Join(term, "sct2_Concept_UKCLSnapshot_GB1000000_20240410.txt"),
		"id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId",
		"138875005\t"+eff+"\t1\t"+mod+"\t900000000000074008",
		"404684003\t"+eff+"\t1\t"+mod+"\t900000000000074008",
		"271737000\t"+eff+"\t1\t"+mod+"\t900000000000074008",
		"999001\t"+eff+"\t0\t"+mod+"\t900000000000074008",
		"999002\t"+eff+"\t0\t"+mod+"\t900000000000074008")
	d := func(id, concept, typ, term string, active string) string {
		return id + "\t" + eff + "\t" + active + "\t" + mod + "\t" + concept + "\ten\t" + typ + "\t" + term + "\t900000000000448009"
	}
	const fsn, syn = "900000000000003001", "900000000000013009"
	write(filepath.Join(term, "sct2_Description_UKCLSnapshot-en_GB1000000_20240410.txt"),
		"id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId",
		d("11", "138875005", fsn, "SNOMED CT Concept (SNOMED RT+CTV3)", "1"),
		d("12", "138875005", syn, "SNOMED CT Concept", "1"),
		d("21", "404684003", fsn, "Clinical finding (finding)", "1"),
		d("22", "404684003", syn, "Clinical finding", "1"),
		d("31", "271737000", fsn, "Anemia (disorder)", "1"),
		d("32", "271737000", syn, "Anemia", "1"),
		d("33", "271737000", syn, "Anaemia", "1"),
		d("34", "271737000", syn, "Low haemoglobin", "1"),
		d("35", "271737000", syn, "Old anaemia term", "0"),
		d("41", "999001", fsn, "Old anaemia concept (disorder)", "1"),
		d("42", "999001", syn, "Old anaemia concept", "1"),
		d("51", "999002", fsn, "Ambiguous concept (disorder)", "1"),
		d("52", "999002", syn, "Ambiguous concept", "1"))
	r := func(id, src, dst, typ, char, active string) string {
		return id + "\t" + eff + "\t" + active + "\t" + mod + "\t" + src + "\t" + dst + "\t0\t" + typ + "\t" + char + "\t900000000000451002"
	}
	const isa, inf, stated = "116680003", "900000000000011006", "900000000000010007"
	write(filepath.Join(term, "sct2_Relationship_UKCLSnapshot_GB1000000_20240410.txt"),
		"id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\ttypeId\tcharacteristicTypeId\tmodifierId",
		r("101", "404684003", "138875005", isa, inf, "1"),
		r("102", "271737000", "404684003", isa, inf, "1"),
		r("103", "271737000", "138875005", isa, stated, "1"),
		r("104", "271737000", "404684003", "363698007", inf, "1"),
		r("105", "999001", "404684003", isa, inf, "0"))
	uuid := func(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	m := func(n int, refset, comp, extra string) string {
		row := uuid(n) + "\t" + eff + "\t1\t" + mod + "\t" + refset + "\t" + comp
		if extra != "" {
			row += "\t" + extra
		}
		return row
	}
	const pref, acc = "900000000000548007", "900000000000549004"
	if withLanguage {
		write(filepath.Join(ref, "der2_cRefset_LanguageUKCRSnapshot-en_GB1000000_20240410.txt"),
			"id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId",
			m(1, "999001261000000100", "33", pref),
			m(2, "999001261000000100", "34", acc),
			m(3, "999001261000000100", "31", pref),
			m(4, "900000000000509007", "32", pref),
			m(5, "900000000000509007", "33", acc),
			m(6, "900000000000509007", "31", pref))
	}
	write(filepath.Join(ref, "der2_cRefset_AssociationUKCRSnapshot_GB1000000_20240410.txt"),
		"id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\ttargetComponentId",
		m(11, "900000000000526001", "999001", "271737000"),
		m(12, "900000000000523009", "999002", "271737000"),
		m(13, "900000000000523009", "999002", "404684003"))
	write(filepath.Join(ref, "der2_Refset_SimpleUKCRSnapshot_GB1000000_20240410.txt"),
		"id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId",
		m(21, "991411000000109", "271737000", ""))
}

func TestImportRF2UKPackagePreferredTermsAndHistory(t *testing.T) {
	tm, _ := open(t)
	dir := t.TempDir()
	ukPackage(t, dir, true)
	if _, err := tm.ImportRF2(dir); err != nil {
		t.Fatal(err)
	}
	c, err := tm.Concept("sct", "271737000")
	if err != nil {
		t.Fatal(err)
	}
	// UK clinical language refset first: "Anaemia"; US-only "Anemia" and the inactive term left out
	if c.PreferredTerm != "Anaemia" || c.FSN != "Anemia (disorder)" || strings.Join(c.Synonyms, "|") != "Low haemoglobin" {
		t.Errorf("271737000: %+v", c)
	}
	if len(c.Parents) != 1 || c.Parents[0].Code != "404684003" {
		t.Errorf("only the inferred is-a counts: %+v", c.Parents)
	}
	reps, err := tm.Replacements("sct", "999001")
	if err != nil || len(reps) != 1 || reps[0].Code != "271737000" || reps[0].Type != "REPLACED BY" || !reps[0].Automatic || reps[0].Term != "Anaemia" {
		t.Errorf("replacements of 999001: %+v %v", reps, err)
	}
	reps, _ = tm.Replacements("sct", "999002")
	if len(reps) != 2 || reps[0].Automatic || reps[1].Automatic {
		t.Errorf("POSSIBLY EQUIVALENT TO must not auto-follow: %+v", reps)
	}
	var ie *terminology.InactiveError
	if err := tm.Validate("sct", "999001"); !errors.As(err, &ie) || !strings.Contains(err.Error(), "271737000") {
		t.Errorf("Validate(999001) = %v", err)
	}
	in, err := tm.ECL("^991411000000109")
	if err != nil || len(in) != 1 || in[0].Code != "271737000" {
		t.Errorf("^refset: %+v %v", in, err)
	}
	rs, err := tm.Search(context.Background(), "low haem", terminology.SearchOptions{ECL: "<< 404684003"})
	if err != nil || len(rs) != 1 || rs[0].Term != "Low haemoglobin" || rs[0].Preferred {
		t.Errorf("search: %+v %v", rs, err)
	}
}

// Any valid layout imports and gives the same content: LF or CRLF, with or without a language
// refset, International or UK file names, folder or zip.
func TestImportRF2LayoutVariants(t *testing.T) {
	ukName := func(b string) string {
		r := strings.NewReplacer("sct2_Concept_Snapshot_INT_", "sct2_Concept_UKCLSnapshot_GB1000000_",
			"sct2_Description_Snapshot-en_INT_", "sct2_Description_UKDGSnapshot-en_GB1000001_",
			"sct2_Relationship_Snapshot_INT_", "sct2_Relationship_UKEDSnapshot_GB_",
			"der2_cRefset_LanguageSnapshot-en_INT_", "der2_cRefset_LanguageUKCRSnapshot-en_GB1000000_")
		return r.Replace(b)
	}
	noLang := func(b string) string {
		if strings.Contains(b, "Language") {
			return ""
		}
		return b
	}
	type variant struct {
		name    string
		rename  func(string) string
		content func(string, []byte) []byte
		zip     bool
	}
	for _, v := range []variant{
		{name: "international LF folder"},
		{name: "CRLF", content: toCRLF},
		{name: "UK names", rename: ukName},
		{name: "no language refset", rename: noLang},
		{name: "zip", zip: true},
		{name: "zip UK names CRLF", rename: ukName, content: toCRLF, zip: true},
	} {
		t.Run(v.name, func(t *testing.T) {
			tm, _ := open(t)
			dir := filepath.Join(t.TempDir(), "SnomedCT_Variant")
			copyTree(t, miniRF2, dir, v.rename, v.content)
			path := dir
			if v.zip {
				path = dir + ".zip"
				zipTree(t, dir, path)
				os.RemoveAll(dir)
			}
			info, err := tm.ImportRF2(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Counts["concepts"] != 13 || info.Counts["isA"] != 9 {
				t.Errorf("counts %v", info.Counts)
			}
			c, _ := tm.Concept("sct", "871866001")
			if c.PreferredTerm != "Meningitis C vaccine" {
				t.Errorf("871866001: %+v", c)
			}
			got, _ := tm.ECL("<< 404684003")
			if len(got) != 2 {
				t.Errorf("<< 404684003: %+v", got)
			}
		})
	}
	t.Run("UK package without language refset", func(t *testing.T) {
		tm, _ := open(t)
		dir := t.TempDir()
		ukPackage(t, dir, false)
		info, err := tm.ImportRF2(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Warnings) == 0 || !strings.Contains(strings.Join(info.Warnings, " "), "no language refset") {
			t.Errorf("warnings: %v", info.Warnings)
		}
		// fallback: the synonym that equals the FSN without its tag
		c, _ := tm.Concept("sct", "271737000")
		if c.PreferredTerm != "Anemia" || len(c.Synonyms) != 2 {
			t.Errorf("271737000: %+v", c)
		}
	})
}

func TestImportRF2MalformedKeepsPreviousRelease(t *testing.T) {
	cases := []struct {
		name     string
		file     string // base name prefix of the file to damage
		damage   func([]byte) []byte
		wantLine int
		want     string
	}{
		{"missing column", "sct2_Relationship_Snapshot", func(b []byte) []byte {
			lines := strings.Split(string(b), "\n")
			lines[6] = strings.TrimSuffix(lines[6], "\t900000000000451002")
			return []byte(strings.Join(lines, "\n"))
		}, 7, "9 columns, want 10"},
		{"truncated file", "sct2_Description_Snapshot", func(b []byte) []byte {
			return b[:len(b)-40]
		}, 16, "columns, want 9"},
		{"bad active flag", "sct2_Concept_Snapshot", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), "871866001\t20200731\t1", "871866001\t20200731\tY", 1))
		}, 43, "active \"Y\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm, _ := open(t)
			if _, err := tm.ImportRF2(baseRF2); err != nil {
				t.Fatal(err)
			}
			before, _ := about(tm, terminology.SourceSNOMED)
			dir := filepath.Join(t.TempDir(), "pkg")
			var damaged string
			copyTree(t, miniRF2, dir, nil, func(name string, b []byte) []byte {
				if strings.HasPrefix(name, c.file) {
					damaged = name
					return c.damage(b)
				}
				return b
			})
			_, err := tm.ImportRF2(dir)
			var ie *terminology.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("want *ImportError, got %v", err)
			}
			row := ie.Rows[0]
			if filepath.Base(row.File) != damaged || row.Line != c.wantLine || !strings.Contains(row.Reason, c.want) {
				t.Errorf("row error %q, want %s:%d: …%s", row.Error(), damaged, c.wantLine, c.want)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%s:%d: ", damaged, c.wantLine)) {
				t.Errorf("error text %q lacks file:line", err)
			}
			after, _ := about(tm, terminology.SourceSNOMED)
			if !after.ImportedAt.Equal(before.ImportedAt) || after.Counts["concepts"] != 17 {
				t.Errorf("the release in use changed: %+v", after)
			}
			if _, err := tm.Concept("sct", "12481008"); err != nil {
				t.Errorf("previous release lost: %v", err)
			}
		})
	}
}
