package bolt

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// ValidateFile checks that path is a practice file this build can open and
// that it passes the structural, index and audit checks.
func ValidateFile(path string) error {
	// Pages first, read directly, so a damaged page is named rather than
	// met by bbolt's assertions (see scanFile).
	if ps := scanFile(path); len(ps) > 0 {
		return fmt.Errorf("%s is damaged: %s", path, ps[0])
	}
	s := &Store{path: path}
	var db *bbolt.DB
	if err := s.guard(func() (err error) {
		db, err = bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
		return err
	}); err != nil {
		return fmt.Errorf("%s is not a practice file: %w", path, err)
	}
	defer db.Close()
	return s.guard(func() error { return validateDB(path, db) })
}

func validateDB(path string, db *bbolt.DB) error {
	return db.View(func(tx *bbolt.Tx) error {
		v := schemaOf(tx)
		if v == 0 || tx.Bucket(bPractice) == nil || tx.Bucket(bPractice).Get(kPractice) == nil {
			return fmt.Errorf("%s is not a gpsoc practice backup", path)
		}
		if v > SchemaVersion {
			return fmt.Errorf("%s has schema %d; this gpsoc understands up to %d", path, v, SchemaVersion)
		}
		for err := range tx.Check() {
			return fmt.Errorf("%s is damaged: %w", path, err)
		}
		if v == SchemaVersion {
			ap, _ := verifyAudit(tx)
			ip, _ := verifyImportedTrails(tx)
			ap = append(ap, ip...)
			if ps := append(checkIndexes(tx), ap...); len(ps) > 0 {
				return fmt.Errorf("%s fails its check: %s", path, ps[0])
			}
		}
		return nil
	})
}

// Restore puts the backup src in place as the practice file of dataDir. When
// a practice is already there it is refused unless force, and then what is
// there is first backed up; the name of that backup is returned.
func Restore(src, dataDir string, force bool) (string, error) {
	if err := ValidateFile(src); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	dst := filepath.Join(dataDir, FileName)
	tmp, err := os.CreateTemp(dataDir, ".restore-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return "", err
	}
	_, err = io.Copy(tmp, in)
	in.Close()
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("copy backup: %w", err)
	}
	if _, err := os.Stat(dst); os.IsNotExist(err) {
		return "", os.Rename(tmp.Name(), dst)
	}
	if !force {
		return "", fmt.Errorf("data dir %s already holds a practice: restore into an empty data dir, or use --force to replace it (it is backed up first)", dataDir)
	}
	// Hold the current file's exclusive lock while it is backed up and replaced.
	s := &Store{path: dst, opt: Options{BusyTimeout: 30 * time.Second}}
	db, err := s.open(false)
	if err != nil {
		return "", err
	}
	defer db.Close()
	old := fmt.Sprintf("%s.before-restore-%s.bak", dst, time.Now().UTC().Format("20060102T150405Z"))
	if err := backupTo(db, old); err != nil {
		return "", fmt.Errorf("backup of the current practice: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return old, err
	}
	return old, syncDir(dataDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// RestoreFrom closes the store and restores the backup src over its file
// (what is there is backed up first; its name is returned).
func (s *Store) RestoreFrom(src string) (string, error) {
	if err := ValidateFile(src); err != nil {
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	return Restore(src, filepath.Dir(s.path), true)
}
