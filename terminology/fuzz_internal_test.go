package terminology

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets for the terminology importers' parsers: RF2 rows, dm+d XML,
// CTV3 and Read v2 files and code lists (ECL: FuzzParseECL beside the parser's tests), each run on files written from the
// fuzzed bytes, up to the release that would be installed (installing is
// left out: it is slow and takes no outside input). Whatever the input, the
// parse ends with a release or an error naming the row, never a panic or a hang.

// headLines is the first n lines of a test file, as a seed.
func headLines(f *testing.F, path string, n int) []byte {
	fh, err := os.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	var b strings.Builder
	sc := bufio.NewScanner(fh)
	for i := 0; i < n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	return []byte(b.String())
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func FuzzImportRF2(f *testing.F) {
	const snap = "testdata/rf2/SnomedCT_MiniRF2/Snapshot/Terminology/"
	f.Add(headLines(f, snap+"sct2_Concept_Snapshot_INT_20210131.txt", 40),
		headLines(f, snap+"sct2_Description_Snapshot-en_INT_20210131.txt", 40),
		headLines(f, snap+"sct2_Relationship_Snapshot_INT_20210131.txt", 40))
	f.Add([]byte("id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId\n138875005\t2002013\t1\t9\t9"), []byte(""), []byte("\xef\xbb\xbfid\t\t\n"))
	f.Fuzz(func(t *testing.T, concepts, descs, rels []byte) {
		// The row parser, file by file (the release assembly after it has a
		// fixed cost that would leave the fuzzer a few runs a second).
		var p rf2Parsed
		probs := &problems{}
		for i, b := range [][]byte{concepts, descs, rels} {
			kind := []rf2Kind{rf2KindConcept, rf2Description, rf2Relationship}[i]
			f := inputFile{name: "fuzz", base: "fuzz", open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
			_ = parseRF2File(f, kind, &p, probs)
		}
	})
}

func FuzzImportDMD(f *testing.F) {
	const set = "testdata/dmd/set1/"
	f.Add(uint8(0), headLines(f, set+"f_vtm2_3010419.xml", 30))
	f.Add(uint8(1), headLines(f, set+"f_vmp2_3010419.xml", 60))
	f.Add(uint8(2), []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><VIRTUAL_THERAPEUTIC_MOIETIES><VTM><VTMID>1</VTMID><NM>&b;</NM></VTM>`))
	f.Add(uint8(3), []byte(`<VTM><VTMID>1</VTMID><NM>x`))
	names := []string{"f_vtm2_3010419.xml", "f_vmp2_3010419.xml", "f_amp2_3010419.xml", "f_ingredient2_3010419.xml", "f_lookup2_3010419.xml", "f_vmpp2_3010419.xml", "f_ampp2_3010419.xml"}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		dir := writeFiles(t, map[string][]byte{names[int(which)%len(names)]: b})
		in, err := collectInputs([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		if d, err := parseDMD(in.files); err == nil {
			_ = d.release()
		}
	})
}

func FuzzImportCTV3(f *testing.F) {
	f.Add([]byte(".....|C|N|Xa001\nXa001|C|N|Xa003\nXa003|C|N|Xa003\n"), []byte(".....|00000|P\n.....|YazSw|S\n"),
		[]byte("00000|C|Read thesaurus||\nYa0rM|C|Read thesaurus concept type||\n"), []byte("Xa001|.....|15\nXa003|Xa001|16\n"))
	f.Add([]byte("Xa001|C|N|Xa001\n"), []byte("Xa001|T1|P\n"), []byte("T1|C|a||\n"), []byte("Xa001|Xa001|1\n"))
	f.Fuzz(func(t *testing.T, concept, descrip, terms, hier []byte) {
		dir := writeFiles(t, map[string][]byte{"Concept.v3": concept, "Descrip.v3": descrip, "Terms.v3": terms, "V3hier.v3": hier})
		_, _ = buildCTV3(dir)
	})
}

func FuzzImportRead2(f *testing.F) {
	const u = "testdata/read2/V2/Unified/"
	f.Add(headLines(f, u+"Corev2.all", 20), headLines(f, u+"Keyv2.all", 10))
	f.Add([]byte("\"H33..\",\"Asthma\n"), []byte("\"A\",\"1\""))
	f.Fuzz(func(t *testing.T, core, keys []byte) {
		dir := writeFiles(t, map[string][]byte{"Corev2.all": core, "Keyv2.all": keys})
		_, _ = buildRead2(dir)
	})
}

func FuzzImportCodelist(f *testing.F) {
	f.Add(headLines(f, "testdata/codelists/opensafely-diabetes.csv", 20))
	f.Add(headLines(f, "testdata/codelists/asthma-medication-alt-headers.csv", 20))
	f.Add([]byte("code,term\n\"73211009,Diabetes\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if cl, err := readCodelist(bytes.NewReader(b), "list.csv"); err == nil {
			_ = cl
		}
	})
}
