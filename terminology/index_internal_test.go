package terminology

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The term index is persisted beside the terminology file: a new process answers from
// the snapshot exactly as from a freshly built index, without building; a new import
// makes the next search build again and replace the snapshot.
func TestTermIndexSnapshot(t *testing.T) {
	old := termSnapshotMin
	termSnapshotMin = 1
	defer func() { termSnapshotMin = old }()
	ctx := context.Background()
	dir := t.TempDir()
	queries := []string{"diab", "diabtes", "t2dm", "asthma", "vacc", "men c", "clin find", "endocrine", "x", "404684003"}
	searchAll := func(tm *Terminology) [][]Result {
		var out [][]Result
		for _, q := range queries {
			for _, inactive := range []bool{false, true} {
				rs, err := tm.Search(ctx, q, SearchOptions{System: "sct", Limit: 10, IncludeInactive: inactive})
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, rs)
			}
		}
		return out
	}
	snap := filepath.Join(dir, "terms-index-"+SourceSNOMED+".snap")

	tm, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	builds := termIndexBuilds.Load()
	first := searchAll(tm)
	if termIndexBuilds.Load() == builds {
		t.Fatal("the first search in a fresh data dir did not build the index")
	}
	if len(first[0]) == 0 {
		t.Fatalf("%q found nothing", queries[0])
	}
	v1, err := os.ReadFile(snap)
	if err != nil {
		t.Fatalf("no snapshot written: %v", err)
	}
	tm.Close()

	// a new process: loaded, not built, and the same answers
	tm, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	builds = termIndexBuilds.Load()
	if got := searchAll(tm); !reflect.DeepEqual(got, first) {
		t.Fatalf("from the snapshot:\n%v\nbuilt:\n%v", got, first)
	}
	if termIndexBuilds.Load() != builds {
		t.Fatal("a new process built the index instead of loading the snapshot")
	}
	tm.Close()

	// a built index (no snapshot) answers the same
	termSnapshotMin = 1 << 30
	tm, _ = Open(dir)
	if got := searchAll(tm); !reflect.DeepEqual(got, first) {
		t.Fatalf("built again:\n%v\nfirst:\n%v", got, first)
	}
	tm.Close()
	termSnapshotMin = 1

	// a new import replaces the release: the snapshot is not used but rebuilt
	tm, _ = Open(dir)
	if _, err := tm.ImportRF2("testdata/rf2/SnomedCT_MiniRF2"); err != nil {
		t.Fatal(err)
	}
	builds = termIndexBuilds.Load()
	after := searchAll(tm)
	if termIndexBuilds.Load() == builds {
		t.Fatal("after an import the old snapshot was used")
	}
	v2, _ := os.ReadFile(snap)
	if bytes.Equal(v1, v2) {
		t.Fatal("the snapshot was not replaced after an import")
	}
	tm.Close()
	tm, _ = Open(dir)
	builds = termIndexBuilds.Load()
	if got := searchAll(tm); !reflect.DeepEqual(got, after) || termIndexBuilds.Load() != builds {
		t.Fatalf("the new release's snapshot: built %v, answers equal %v", termIndexBuilds.Load() != builds, reflect.DeepEqual(got, after))
	}

	// a damaged snapshot is rebuilt, never trusted
	tm.Close()
	os.WriteFile(snap, v2[:len(v2)/2], 0o600)
	tm, _ = Open(dir)
	defer tm.Close()
	builds = termIndexBuilds.Load()
	if got := searchAll(tm); !reflect.DeepEqual(got, after) || termIndexBuilds.Load() == builds {
		t.Fatal("a truncated snapshot was used")
	}
}
