package terminology_test

import (
	"archive/zip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology"
)

var (
	templateOnce sync.Once
	templateDB   []byte
	templateErr  error
)

// open returns a terminology with the embedded default in a fresh data dir. The embedded
// default is built once per test binary and its file copied, so each test starts clean.
func open(t testing.TB) (*terminology.Terminology, string) {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gpsoc-term-template")
		if err != nil {
			templateErr = err
			return
		}
		defer os.RemoveAll(dir)
		tm, err := terminology.Open(dir)
		if err != nil {
			templateErr = err
			return
		}
		tm.Close()
		templateDB, templateErr = os.ReadFile(filepath.Join(dir, "terminology.db"))
	})
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "terminology.db"), templateDB, 0o600); err != nil {
		t.Fatal(err)
	}
	tm, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	return tm, dir
}

// copyTree copies src to dst, transforming each file's name and content.
func copyTree(t testing.TB, src, dst string, name func(string) string, content func(string, []byte) []byte) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		base := filepath.Base(rel)
		if name != nil {
			base = name(base)
			if base == "" {
				return nil
			}
		}
		if content != nil {
			data = content(base, data)
		}
		return os.WriteFile(filepath.Join(dst, filepath.Dir(rel), base), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func zipTree(t testing.TB, src, zipPath string) {
	t.Helper()
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(src), p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		r, err := os.Open(p)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func toCRLF(_ string, b []byte) []byte {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func hasCode(rs []terminology.Result, code string) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

func conceptCodes(cs []terminology.Concept) map[string]bool {
	m := map[string]bool{}
	for _, c := range cs {
		m[c.Code] = true
	}
	return m
}

func mustNotFound(t *testing.T, err error) {
	t.Helper()
	var nf *terminology.NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, terminology.ErrNotFound) {
		t.Fatalf("want a *NotFoundError, got %v", err)
	}
}

func about(tm *terminology.Terminology, name string) (terminology.SourceInfo, bool) {
	for _, a := range tm.About() {
		if a.Name == name {
			return a, true
		}
	}
	return terminology.SourceInfo{}, false
}

const miniRF2 = "testdata/rf2/SnomedCT_MiniRF2"
const baseRF2 = "testdata/rf2/SnomedCT_MiniRF2_Base_snapshot"
