package interop_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
)

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A Bundle cut off between two entries is refused whole: none of the
// entries before the cut are imported (it once imported 31 of 96 and
// reported success).
func TestFHIRImportTruncatedBundleRefusedWhole(t *testing.T) {
	full := gunzipFile(t, fxSyntheaDir+"/024b1b9b-57bc-4fae-9839-fa0656246b41.json.gz")
	// The end of the 31st entry: each entry starts with `        {` at the
	// entry depth of the pretty-printed file.
	sep := []byte("\n        },\n        {\n")
	cut, n := 0, 0
	for i := 0; n < 31; n++ {
		j := bytes.Index(full[i:], sep)
		if j < 0 {
			t.Fatalf("only %d entries found", n)
		}
		cut = i + j + len("\n        }")
		i = cut
	}
	for name, data := range map[string][]byte{
		"cut between entries":        full[:cut],
		"cut after an entry's comma": full[:cut+1],
		"cut inside an entry":        full[:cut+200],
		"55-byte malformed Bundle":   []byte(`{"resourceType":"Bundle","type":"batch","entry":[}]} `),
	} {
		t.Run(name, func(t *testing.T) {
			_, s, _ := fhirPractice(t, "Hostile Surgery", "B86099", false)
			done := make(chan error, 1)
			go func() {
				_, err := interop.ImportFHIR(context.Background(), s, []interop.FHIRInput{{Name: "bundle.json", Data: data}}, interop.FHIRImportOptions{})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("import did not finish")
			}
			if err == nil || !strings.Contains(err.Error(), "bundle.json") {
				t.Fatalf("err = %v, want the Bundle refused naming the file", err)
			}
			ps, err := s.Patients(context.Background(), clinical.PatientFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 0 {
				t.Fatalf("%d patients written from a refused Bundle", len(ps))
			}
		})
	}
}
