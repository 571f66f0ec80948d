package remote

import (
	"slices"
	"testing"
	"time"
)

// Callers with their own cursors share the server's polls: one polls, the
// others are answered from it within PollEvery (none starves, nothing is
// lost), and a caller behind the cache polls for itself.
func TestChangeCacheSharesPolls(t *testing.T) {
	var c changeCache
	polls := 0
	server := []change{{10, "a"}, {20, "b"}, {30, "c"}}
	poll := func(after uint64) (uint64, []change, error) {
		polls++
		var out []change
		last := after
		for _, x := range server {
			if x.seq > after {
				out = append(out, x)
				last = x.seq
			}
		}
		return last, out, nil
	}
	ask := func(after uint64) (uint64, []string) {
		var ids []string
		last, err := c.answer(after, time.Hour, poll, func(_ uint64, id string) error { ids = append(ids, id); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return last, ids
	}
	// The find list polls first from 10; the open record, at 20, is
	// answered from that poll.
	if last, ids := ask(10); last != 30 || !slices.Equal(ids, []string{"b", "c"}) || polls != 1 {
		t.Fatalf("first caller: %d %v (%d polls)", last, ids, polls)
	}
	if last, ids := ask(20); last != 30 || !slices.Equal(ids, []string{"c"}) || polls != 1 {
		t.Fatalf("second caller: %d %v (%d polls)", last, ids, polls)
	}
	if last, ids := ask(30); last != 30 || len(ids) != 0 || polls != 1 {
		t.Fatalf("up to date: %d %v (%d polls)", last, ids, polls)
	}
	// A caller from before the cache polls for itself and loses nothing.
	if last, ids := ask(0); last != 30 || !slices.Equal(ids, []string{"a", "b", "c"}) || polls != 2 {
		t.Fatalf("behind the cache: %d %v (%d polls)", last, ids, polls)
	}
	// Once PollEvery has passed, the server is asked again.
	server = append(server, change{40, "d"})
	c.at = time.Now().Add(-2 * time.Hour)
	if last, ids := ask(30); last != 40 || !slices.Equal(ids, []string{"d"}) || polls != 3 {
		t.Fatalf("after PollEvery: %d %v (%d polls)", last, ids, polls)
	}
	if last, ids := ask(10); last != 40 || !slices.Equal(ids, []string{"b", "c", "d"}) || polls != 3 {
		t.Fatalf("the merged cache: %d %v (%d polls)", last, ids, polls)
	}
}
