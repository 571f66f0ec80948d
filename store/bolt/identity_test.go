package bolt

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

// Upgrading a schema-4 file (before identity): each admin is bound to the OS
// login of its own name and no one else is bound to anything, so the
// practice keeps working without prompts and no one gains a way in; the
// old never-expiring token becomes one that expires; the practice-wide
// passphrase hash (crackable in milliseconds) is dropped.
func TestMigrationFromSchema4BindsAdminsOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		users, tokens := tx.Bucket(bUsers), tx.Bucket(bTokens)
		for _, u := range []string{
			`{"name":"admin","role":"admin","prescriber":false,"version":1}`,
			`{"name":"dr.patel","role":"gp","prescriber":true,"version":1,"tokenHash":"aa11"}`,
			`{"name":"reception","role":"receptionist","prescriber":false,"version":1}`,
		} {
			var m struct{ Name string }
			_ = json.Unmarshal([]byte(u), &m)
			if err := users.Put([]byte(m.Name), []byte(u)); err != nil {
				return err
			}
		}
		if err := tokens.Put([]byte("aa11"), []byte("dr.patel")); err != nil {
			return err
		}
		if err := tokens.Put([]byte("bb22"), []byte("dr.patel")); err != nil { // replaced long ago
			return err
		}
		pr := `{"name":"Old Surgery","odsCode":"B86001","settings":{"passphrase":"sha256:00:11","idle-lock":"5m"},"version":1}`
		if err := tx.Bucket(bPractice).Put(kPractice, []byte(pr)); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchema, []byte("4"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	before := time.Now()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if baks, _ := filepath.Glob(filepath.Join(dir, "*.schema4-*.bak")); len(baks) != 1 {
		t.Fatalf("backups before migration: %v", baks)
	}
	if probs, _ := s2.Check(); len(probs) != 0 {
		t.Errorf("check after the upgrade: %v", probs)
	}
	_ = s2.View(ctx, func(tx store.Tx) error {
		us, err := tx.Users()
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			want := []string(nil)
			if u.Name == "admin" {
				want = []string{"admin"}
			}
			if !slices.Equal(u.Logins, want) {
				t.Errorf("%s (%s) bound to %v after the upgrade, want %v", u.Name, u.Role, u.Logins, want)
			}
		}
		tk, err := tx.Token("aa11")
		if err != nil || tk.User != "dr.patel" || tk.ExpiresAt.Before(before.Add(11*time.Hour)) || tk.ExpiresAt.After(time.Now().Add(13*time.Hour)) {
			t.Errorf("the old token after the upgrade = %+v, %v; want dr.patel's, expiring in 12h", tk, err)
		}
		if _, err := tx.Token("bb22"); !record.IsNotFound(err) {
			t.Errorf("a token no user held survived the upgrade: %v", err)
		}
		pr, err := tx.Practice()
		if err != nil || pr.Settings["passphrase"] != "" || pr.Settings["idle-lock"] != "5m" || pr.Name != "Old Surgery" {
			t.Errorf("practice after the upgrade = %+v, %v", pr, err)
		}
		return nil
	})
}
