package terminology

import (
	"encoding/json"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A binary with different embedded files rebuilds the embedded sources, and never touches a
// source that came from a real import.
func TestEmbeddedRebuiltWhenFilesChange(t *testing.T) {
	dir := t.TempDir()
	tm, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.ImportCTV3("testdata/ctv3/nhs_readctv3_25.0.0_20180401000001.zip"); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.ImportDMD("testdata/dmd/set1"); err != nil {
		t.Fatal(err)
	}
	// pretend the snomed rows came from an older binary
	ptrs, _ := tm.db.pointers()
	err = tm.db.bolt.Update(func(tx *bolt.Tx) error {
		g, _ := genBucket(tx, ptrs[SourceSNOMED])
		var info SourceInfo
		json.Unmarshal(g.Get(keyMeta), &info)
		info.Release = "embedded-000000000000"
		return putJSON(g, keyMeta, info)
	})
	if err != nil {
		t.Fatal(err)
	}
	tm.Close()
	tm, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	after, _ := tm.db.pointers()
	if after[SourceSNOMED] == ptrs[SourceSNOMED] {
		t.Errorf("outdated embedded SNOMED was not rebuilt")
	}
	if after[SourceDMD] != ptrs[SourceDMD] || after[SourceCTV3] != ptrs[SourceCTV3] {
		t.Errorf("imported sources were touched: %v -> %v", ptrs, after)
	}
	if s := tm.source(SourceSNOMED); s.info.Release != embeddedVersionOnce() {
		t.Errorf("release %q", s.info.Release)
	}
}
