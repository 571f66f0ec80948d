package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
)

// replicasPolling opens the database at url twice, as two serve processes,
// their change waiters polling every poll.
func replicasPolling(t *testing.T, url string, poll time.Duration) (*postgres.DB, *postgres.DB) {
	t.Helper()
	var out [2]*postgres.DB
	for i := range out {
		db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 8, ChangePoll: poll})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		out[i] = db
	}
	return out[0], out[1]
}

func addPatient(t *testing.T, s store.Store, family string) *record.Patient {
	t.Helper()
	p := newPatient(t, "", family)
	if err := s.Update(context.Background(), func(tx store.WTx) error {
		if err := tx.Put(p); err != nil {
			return err
		}
		return tx.Append(&record.AuditEvent{User: "admin", Action: "create", Kind: record.KindPatient, EntityID: p.ID, Version: 1})
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func headOf(t *testing.T, s store.Store) uint64 {
	t.Helper()
	var h uint64
	if err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		h, err = tx.Changes(store.ChangesHead, func(uint64, string) error { return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitListening waits for a replica's listener to be connected.
func waitListening(t *testing.T, db *postgres.DB) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !db.Listening(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the replica's change listener did not connect")
		}
	}
}

// A write through replica A wakes a watcher of the change feed on replica
// B at once: its waiters poll only every 30 s here, so only A's
// notification can wake them within the second the issue allows.
func TestChangeWatcherWakesAcrossReplicas(t *testing.T) {
	_, url := openDB(t)
	ra, rb := replicasPolling(t, url, 30*time.Second)
	a, b := practice(t, ra, "A81001"), practice(t, rb, "A81001")
	other := practice(t, ra, "B82002")
	seed(t, a, "A81001", "9434765919", "Adams")
	seed(t, other, "B82002", "9434765919", "Brown")
	ctx := context.Background()

	type woke struct {
		head uint64
		err  error
		at   time.Time
	}
	wait := func(after uint64, max time.Duration) chan woke {
		ch := make(chan woke, 1)
		go func() {
			h, err := b.WaitChanges(ctx, after, max)
			ch <- woke{h, err, time.Now()}
		}()
		return ch
	}
	// The listener starts with the first wait.
	first := wait(headOf(t, b), 50*time.Millisecond)
	waitListening(t, rb)
	<-first

	var worst time.Duration
	for i := 0; i < 8; i++ {
		before := headOf(t, b)
		ch := wait(before, 5*time.Second)
		time.Sleep(20 * time.Millisecond) // the watcher is asleep on the feed
		// Another practice's write does not wake it.
		addPatient(t, other, fmt.Sprintf("Other%d", i))
		select {
		case w := <-ch:
			t.Fatalf("practice A's watcher woke (head %d, %v) for practice B's write", w.head, w.err)
		case <-time.After(100 * time.Millisecond):
		}
		start := time.Now()
		addPatient(t, a, fmt.Sprintf("Write%d", i))
		w := <-ch
		took := w.at.Sub(start)
		if w.err != nil || w.head <= before {
			t.Fatalf("write %d: the watcher on replica B returned head %d (%v), after %d", i, w.head, w.err, before)
		}
		worst = max(worst, took)
	}
	if worst > 500*time.Millisecond {
		t.Errorf("a write through replica A reached replica B's watcher after up to %v, want well within 1 s", worst)
	}
	t.Logf("a write through replica A woke replica B's watcher within %v at worst", worst)

	// With nothing written, a wait ends at its limit with the head as it was.
	h := headOf(t, b)
	start := time.Now()
	got, err := b.WaitChanges(ctx, h, 150*time.Millisecond)
	if err != nil || got != h || time.Since(start) < 150*time.Millisecond {
		t.Errorf("a wait with nothing written: head %d (%v) after %v, want %d after its limit", got, err, time.Since(start), h)
	}
}

// Notifications are only a wake-up: with replica B's listener connection
// killed again and again while replica A writes, a follower on B that
// waits on the feed and reads it by sequence still gets every patient
// written, once each, and the listener comes back.
func TestChangeFeedLosesNothingWhenNotificationsDrop(t *testing.T) {
	_, url := openDB(t)
	ra, rb := replicasPolling(t, url, 200*time.Millisecond)
	a, b := practice(t, ra, "A81001"), practice(t, rb, "A81001")
	seed(t, a, "A81001", "9434765919", "Adams")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	kills := 0
	killing := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-killing:
				return
			case <-time.After(30 * time.Millisecond):
			}
			var n int
			_ = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = 'gpsoc change listener' AND datname = current_database()`).Scan(&n)
			kills += n
		}
	}()

	const writes = 40
	seen := map[string]int{}
	last := headOf(t, b)
	done := make(chan struct{})
	var ferr error
	go func() { // the follower on replica B
		defer close(done)
		for len(seen) < writes {
			if _, err := b.WaitChanges(ctx, last, 5*time.Second); err != nil {
				ferr = err
				return
			}
			err := b.View(ctx, func(tx store.Tx) error {
				var err error
				last, err = tx.Changes(last, func(_ uint64, id string) error { seen[id]++; return nil })
				return err
			})
			if err != nil {
				ferr = err
				return
			}
		}
	}()
	var ids []string
	for i := 0; i < writes; i++ {
		ids = append(ids, addPatient(t, a, fmt.Sprintf("Dropped%d", i)).ID)
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the follower on replica B saw %d of %d patients", len(seen), writes)
	}
	close(killing)
	wg.Wait()
	if ferr != nil {
		t.Fatal(ferr)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("patient %s reported %d times by the feed", id, seen[id])
		}
	}
	if kills == 0 {
		t.Fatal("the listener connection was never killed: the test proved nothing")
	}
	t.Logf("listener killed %d times while %d patients were written", kills, writes)
	waitListening(t, rb)
}

// A change whose notification never comes (its replica stopped between
// its commit and its notify: here, a change entered behind the store) is
// still seen by a waiter, at its next poll.
func TestChangeWaiterPollsForALostNotification(t *testing.T) {
	_, url := openDB(t)
	_, rb := replicasPolling(t, url, 300*time.Millisecond)
	b := practice(t, rb, "A81001")
	p := seed(t, b, "A81001", "9434765919", "Adams")
	ctx := context.Background()
	head := headOf(t, b)
	ch := make(chan uint64, 1)
	go func() { h, _ := b.WaitChanges(ctx, head, 10*time.Second); ch <- h }()
	waitListening(t, rb)
	time.Sleep(50 * time.Millisecond)
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	start := time.Now()
	if _, err := admin.Exec(ctx, `WITH s AS (UPDATE practices SET change_seq = change_seq + 1 WHERE practice = 'A81001' RETURNING change_seq)
		INSERT INTO changes (practice, seq, patient_id) SELECT 'A81001', change_seq, $1 FROM s`, p.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-ch:
		if h != head+1 {
			t.Errorf("the waiter returned head %d, want %d", h, head+1)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("a change without a notification reached the waiter after %v, want within its poll (300 ms)", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a change without a notification never reached the waiter")
	}
}
