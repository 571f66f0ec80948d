package terminology_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
)

// Any number of processes read the terminology at once (a workstation left
// open, scripts); an import waits for the file to itself and says busy.
func TestReadersShareImportsWait(t *testing.T) {
	_, dir := open(t)
	second, err := terminology.Open(dir)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer second.Close()
	if rs, err := second.Search(context.Background(), "asthma", terminology.SearchOptions{}); err != nil || len(rs) == 0 {
		t.Fatalf("search in the second reader: %v %v", rs, err)
	}
	_, err = second.ImportCTV3("testdata/ctv3/nhs_readctv3_25.0.0_20180401000001.zip")
	if !errors.Is(err, terminology.ErrBusy) {
		t.Fatalf("import while another reader has it open: %v, want ErrBusy", err)
	}
	if rs, err := second.Search(context.Background(), "asthma", terminology.SearchOptions{}); err != nil || len(rs) == 0 {
		t.Fatalf("the refused import left the terminology unreadable: %v %v", rs, err)
	}
}

// Searches and lookups keep working while a source is replaced underneath them.
func TestSearchDuringImport(t *testing.T) {
	tm, _ := open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := tm.Search(ctx, "asthma", terminology.SearchOptions{}); err != nil {
					t.Error(err)
					return
				}
				if _, err := tm.Product("39732411000001106"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 3 {
		if _, err := tm.ImportCTV3("testdata/ctv3/nhs_readctv3_25.0.0_20180401000001.zip"); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	rs, _ := tm.Search(ctx, "asthma", terminology.SearchOptions{System: "ctv3"})
	if len(rs) == 0 {
		t.Errorf("CTV3 asthma not found after imports")
	}
}
