package fhir

import (
	"testing"
	"time"
)

func TestSplitBundleMalformedDoesNotLoop(t *testing.T) {
	in := []byte(`{"resourceType":"Bundle","entry":[}],"type":"batch"}`)
	done := make(chan error, 1)
	go func() { _, err := SplitBundle(in); done <- err }()
	select {
	case err := <-done:
		t.Log(len(in), err)
	case <-time.After(2 * time.Second):
		t.Fatal("loops")
	}
}
