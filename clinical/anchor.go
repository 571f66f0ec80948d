package clinical

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Anchors: the audit chain's head, signed with a key kept away from the
// practice file and written where the admin chooses. The hash chain alone
// shows that the trail is consistent, not that it is the trail that was
// written: whoever can write the file can delete its last events, or
// rewrite an event and recompute every hash after it. A signed head held
// elsewhere pins the chain at that point: a later trail must reach its
// sequence and have its hash there.

// Anchor is one signed audit head.
type Anchor struct {
	Practice  string    `json:"practice"` // ODS code
	Seq       uint64    `json:"seq"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
	Key       string    `json:"key"` // fingerprint of the public key that signs it
	Signature string    `json:"signature"`
	// File is where it was read from (not stored).
	File string `json:"-"`
}

// message is what is signed: every field but the signature, one a line.
func (a *Anchor) message() []byte {
	return fmt.Appendf(nil, "gpsoc audit anchor v1\npractice %s\nseq %d\nhash %s\nat %s\n",
		a.Practice, a.Seq, a.Hash, a.At.UTC().Format(time.RFC3339Nano))
}

// KeyFingerprint names a public key briefly (the first 16 hex digits of its SHA-256).
func KeyFingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// insideDir reports whether path is dir or anything below it, symbolic
// links resolved (a file that does not exist yet is judged by its folder).
func insideDir(path, dir string) bool {
	resolve := func(p string) string {
		p, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		if r, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			return filepath.Join(r, filepath.Base(p))
		}
		return p
	}
	rel, err := filepath.Rel(resolve(dir), resolve(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// ErrKeyInDataDir is returned for a signing key, or an anchor folder, in the
// data dir: whoever can change the practice file could then sign or delete
// anchors too, and anchors would prove nothing.
var ErrKeyInDataDir = errors.New("must live outside the data dir")

// GenerateAnchorKey writes a new Ed25519 signing key to out (PKCS #8 PEM,
// readable by its owner only) and its public key to out.pub; neither file
// may exist already, and out may not be inside dataDir.
func GenerateAnchorKey(out, dataDir string) (pubFile string, err error) {
	if insideDir(out, dataDir) {
		return "", record.Invalid("out", out, "the signing key "+ErrKeyInDataDir.Error()+" ("+dataDir+")")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	pder, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	pubFile = out + ".pub"
	if _, err := os.Stat(pubFile); err == nil {
		return "", record.Invalid("out", pubFile, "already exists: a key is never overwritten")
	}
	if err := writeNew(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", err
	}
	if err := writeNew(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644); err != nil {
		os.Remove(out)
		return "", err
	}
	return pubFile, nil
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LoadAnchorKey reads a signing key made by GenerateAnchorKey. A key inside
// dataDir, or one that others may read, is refused.
func LoadAnchorKey(path, dataDir string) (ed25519.PrivateKey, error) {
	if path == "" {
		return nil, record.Invalid("anchor key", "", "no signing key given (make one with `gpsoc audit keygen --out FILE`, outside the data dir)")
	}
	if insideDir(path, dataDir) {
		return nil, record.Invalid("anchor key", path, "the signing key "+ErrKeyInDataDir.Error()+" ("+dataDir+"): move it elsewhere (another disk, or another machine's mount)")
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, record.Invalid("anchor key", path, fmt.Sprintf("is readable by others (mode %v): chmod 600 it", st.Mode().Perm()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, record.Invalid("anchor key", path, "not a PEM private key (make one with `gpsoc audit keygen`)")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, record.Invalid("anchor key", path, err.Error())
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, record.Invalid("anchor key", path, "not an Ed25519 key")
	}
	return priv, nil
}

// LoadAnchorPublicKey reads the public key that verifies anchors.
func LoadAnchorPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, record.Invalid("public key", path, "not a PEM public key (the .pub file `gpsoc audit keygen` wrote)")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, record.Invalid("public key", path, err.Error())
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, record.Invalid("public key", path, "not an Ed25519 key")
	}
	return pub, nil
}

// Anchor signs the audit head and writes it to dir (admins only; audited,
// and the anchor covers its own audit event).
func (s *Service) Anchor(ctx context.Context, key ed25519.PrivateKey, dir, dataDir string) (*Anchor, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	if err := checkAnchorDir(dir, dataDir); err != nil {
		return nil, err
	}
	ev := s.event("anchor", "audit", "", "", 0)
	ev.Reason = dir
	if err := s.audit(ctx, ev); err != nil {
		return nil, err
	}
	return s.p.WriteAnchor(ctx, key, dir, dataDir)
}

func checkAnchorDir(dir, dataDir string) error {
	if dir == "" {
		return record.Invalid("anchor dir", "", "no folder given for the signed heads")
	}
	if insideDir(dir, dataDir) {
		return record.Invalid("anchor dir", dir, "the anchors "+ErrKeyInDataDir.Error()+" ("+dataDir+"): whoever could change the file could delete them too")
	}
	return nil
}

// WriteAnchor signs the current audit head and writes it to dir as
// anchor-SEQ-TIME.json (the server's periodic anchoring; not audited itself,
// so that anchoring an idle practice adds nothing to its trail).
func (p *Practice) WriteAnchor(ctx context.Context, key ed25519.PrivateKey, dir, dataDir string) (*Anchor, error) {
	if err := checkAnchorDir(dir, dataDir); err != nil {
		return nil, err
	}
	a := &Anchor{At: p.now().UTC()}
	err := p.st.View(ctx, func(tx store.Tx) error {
		pr, err := tx.Practice()
		if err != nil {
			return err
		}
		a.Practice = pr.ODS
		a.Seq, a.Hash, err = tx.AuditHead()
		return err
	})
	if err != nil {
		return nil, err
	}
	a.Key = KeyFingerprint(key.Public().(ed25519.PublicKey))
	a.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, a.message()))
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("anchor dir: %w", err)
	}
	name := fmt.Sprintf("anchor-%012d-%s.json", a.Seq, a.At.Format("20060102T150405.000000000Z"))
	a.File = filepath.Join(dir, name)
	// Written whole under a temporary name, then renamed: a reader never sees half an anchor.
	tmp := a.File + ".tmp"
	if err := writeNew(tmp, append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, a.File); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("anchor: %w", err)
	}
	return a, nil
}

// AnchorReport is what VerifyAnchors found.
type AnchorReport struct {
	Anchors  int     // anchors read and checked
	Last     *Anchor // the anchor with the highest sequence
	Head     uint64  // the trail's last event
	Problems []string
}

// VerifyAnchors checks the audit trail against the signed heads in dir:
// each must verify with pub, name this practice, and be matched by the
// trail (an event of its sequence, with its hash). A trail that ends before
// an anchor was truncated; one whose hash differs was rewritten and
// re-chained. Events after the last anchor are vouched for by the chain only.
func VerifyAnchors(ctx context.Context, st store.Store, pub ed25519.PublicKey, dir string) (*AnchorReport, error) {
	files, err := filepath.Glob(filepath.Join(dir, "anchor-*.json"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("anchor dir: %w", err)
	}
	sort.Strings(files)
	r := &AnchorReport{}
	var ods string
	want := map[uint64]string{}
	err = st.View(ctx, func(tx store.Tx) error {
		pr, err := tx.Practice()
		if err != nil {
			return err
		}
		ods = pr.ODS
		if r.Head, _, err = tx.AuditHead(); err != nil {
			return err
		}
		var anchors []*Anchor
		for _, f := range files {
			a, prob := readAnchor(f, pub, ods)
			if prob != "" {
				r.Problems = append(r.Problems, prob)
				continue
			}
			anchors = append(anchors, a)
			want[a.Seq] = ""
			if r.Last == nil || a.Seq > r.Last.Seq {
				r.Last = a
			}
		}
		r.Anchors = len(anchors)
		if len(anchors) == 0 {
			return nil
		}
		var last uint64
		err = tx.Audit(0, func(ev *record.AuditEvent) error {
			if _, ok := want[ev.Seq]; ok {
				want[ev.Seq] = ev.Hash
			}
			last = ev.Seq
			return nil
		})
		if err != nil {
			return err
		}
		r.Head = max(r.Head, last)
		for _, a := range anchors {
			signed := a.At.UTC().Format(time.RFC3339)
			switch got := want[a.Seq]; {
			case a.Seq > last:
				r.Problems = append(r.Problems, fmt.Sprintf("audit trail: ends at event %d, but %s (signed %s) vouches for event %d: events were deleted from its end (truncated)",
					last, filepath.Base(a.File), signed, a.Seq))
			case got == "" && a.Seq > 0:
				r.Problems = append(r.Problems, fmt.Sprintf("event %d: missing, but %s (signed %s) vouches for it: events were deleted", a.Seq, filepath.Base(a.File), signed))
			case got != a.Hash:
				r.Problems = append(r.Problems, fmt.Sprintf("event %d: its chain hash is not the one %s signed at %s: the trail up to it was rewritten and re-chained since",
					a.Seq, filepath.Base(a.File), signed))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.Anchors == 0 && len(r.Problems) == 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("anchors: none in %s (write them with `gpsoc audit anchor` or `gpsoc serve --anchor-dir`)", dir))
	}
	return r, nil
}

// readAnchor reads and authenticates one anchor file ("" problem when good).
func readAnchor(file string, pub ed25519.PublicKey, ods string) (*Anchor, string) {
	name := filepath.Base(file)
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "anchor " + name + ": " + err.Error()
	}
	a := &Anchor{File: file}
	if err := json.Unmarshal(b, a); err != nil {
		return nil, "anchor " + name + ": cannot be read: " + err.Error()
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil || !ed25519.Verify(pub, a.message(), sig) {
		return nil, "anchor " + name + ": signature does not verify with this public key (forged or altered, or signed with another key)"
	}
	if a.Practice != ods {
		return nil, fmt.Sprintf("anchor %s: signed for practice %s, this is %s", name, a.Practice, ods)
	}
	return a, ""
}
