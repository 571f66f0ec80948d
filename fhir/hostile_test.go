package fhir

import (
	"strings"
	"testing"
	"time"
)

// The 55-byte Bundle that made the splitter loop for ever, growing memory:
// a closing brace where an entry should be. It is refused at once, and so
// is every truncation of a good Bundle.
func TestSplitBundleMalformedDoesNotLoop(t *testing.T) {
	good := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"b"}}]}`
	cases := []string{`{"resourceType":"Bundle","type":"batch","entry":[}]}   `}
	for i := 1; i < len(good); i++ {
		cases = append(cases, good[:i])
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, in := range cases {
			if _, err := SplitBundle([]byte(in)); err == nil {
				t.Errorf("SplitBundle(%q) accepted", in)
			} else if !strings.Contains(err.Error(), "refused whole") {
				t.Errorf("SplitBundle(%q): %v", in, err)
			}
		}
		if b, err := SplitBundle([]byte(good)); err != nil || len(b.Entry) != 2 {
			t.Errorf("the whole Bundle: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the splitter loops")
	}
}
