package terminology

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Layout of terminology.db (one file beside the practice file, owner-only):
//
//	sources/<name>        -> name of the generation bucket in use ("snomed.7")
//	gens/<name>.<n>/      one complete release of one source
//	    meta              JSON SourceInfo
//	    blob/<name><n>    chunked binary blobs: codes, parents, active bits, terms, preferred terms
//	    c/<code>          concept record (fsn, preferred term, synonyms, associations)
//	    rs/<refset>       sorted member ids (uint32, little endian)
//	    p/<code>          dm+d product (JSON)
//	    m/<system|code>   legacy map targets (JSON)
//	next                  generation counter
//
// An import writes a new generation bucket (in as many transactions as it needs), then flips
// sources/<name> and deletes the old generation in one transaction. A failed or interrupted
// import leaves the pointer where it was; leftover generations are removed at the next Open.
var (
	bktSources = []byte("sources")
	bktGens    = []byte("gens")
	keyNext    = []byte("next")
	keyMeta    = []byte("meta")
	bktBlob    = []byte("blob")
	bktConcept = []byte("c")
	bktRefset  = []byte("rs")
	bktProduct = []byte("p")
	bktMap     = []byte("m")
)

// ErrBusy is returned by Open when another process holds terminology.db.
var ErrBusy = errors.New("terminology store is in use by another process")

const blobChunk = 4 << 20

type db struct {
	mu       sync.RWMutex // held shared by every transaction, exclusively to swap bolt for an import
	bolt     *bolt.DB
	path     string
	readOnly bool

	// Cache files (the term index snapshot) are written beside the file by
	// whichever search first builds an index; Close waits for a write under
	// way and stops later ones, so nothing writes after the caller closed.
	cacheMu sync.Mutex
	closed  bool
	caching sync.WaitGroup
}

// cacheWrite runs write unless the terminology is closed, and lets Close wait for it.
func (d *db) cacheWrite(write func() error) error {
	d.cacheMu.Lock()
	if d.closed {
		d.cacheMu.Unlock()
		return nil
	}
	d.caching.Add(1)
	d.cacheMu.Unlock()
	defer d.caching.Done()
	return write()
}

func (d *db) close() error {
	d.cacheMu.Lock()
	d.closed = true
	d.cacheMu.Unlock()
	d.caching.Wait()
	return d.bolt.Close()
}

func (d *db) view(fn func(*bolt.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.bolt.View(fn)
}

func (d *db) update(fn func(*bolt.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.bolt.Update(fn)
}

// reopen swaps the open file for one opened the other way (read-only or writable).
func (d *db) reopen(dataDir string, readOnly bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.readOnly == readOnly {
		return nil
	}
	d.bolt.Close()
	n, err := openDB(dataDir, readOnly)
	if err != nil {
		// keep the terminology in use readable
		if ro, rerr := openDB(dataDir, true); rerr == nil {
			d.bolt, d.readOnly = ro.bolt, true
		}
		return err
	}
	d.bolt, d.readOnly = n.bolt, readOnly
	return nil
}

// openDB opens terminology.db. Read-only opens take bbolt's shared lock, so any
// number of processes (a workstation left open, scripts) read it at once; a
// writable open (first use, imports) takes the exclusive lock.
func openDB(dataDir string, readOnly bool) (*db, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, "terminology.db")
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	// a large initial mmap avoids remapping (and copying every dirty node) while a release is written
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, InitialMmapSize: 1 << 30, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w", path, ErrBusy)
		}
		return nil, fmt.Errorf("open terminology file %s: %w", path, err)
	}
	d := &db{bolt: b, path: path, readOnly: readOnly}
	if readOnly {
		return d, nil
	}
	// bbolt creates with the mode given, but an existing file may have been created by hand.
	_ = os.Chmod(path, 0o600)
	if err := d.update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bktSources); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bktGens)
		return err
	}); err != nil {
		b.Close()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	if err := d.collectGarbage(); err != nil {
		b.Close()
		return nil, err
	}
	return d, nil
}

// needsWrite reports whether a read-only file must first be prepared by a
// writer: buckets missing, or an unfinished import to clean up.
func (d *db) needsWrite() bool {
	need := false
	_ = d.view(func(tx *bolt.Tx) error {
		src, gens := tx.Bucket(bktSources), tx.Bucket(bktGens)
		if src == nil || gens == nil {
			need = true
			return nil
		}
		live := map[string]bool{}
		_ = src.ForEach(func(k, v []byte) error { live[string(v)] = true; return nil })
		_ = gens.ForEach(func(k, v []byte) error {
			if v == nil && !live[string(k)] {
				need = true
			}
			return nil
		})
		return nil
	})
	return need
}

// collectGarbage drops generation buckets that no source points at (an import that died).
func (d *db) collectGarbage() error {
	return d.update(func(tx *bolt.Tx) error {
		live := map[string]bool{}
		_ = tx.Bucket(bktSources).ForEach(func(k, v []byte) error { live[string(v)] = true; return nil })
		gens := tx.Bucket(bktGens)
		var dead [][]byte
		_ = gens.ForEach(func(k, v []byte) error {
			if v == nil && !live[string(k)] {
				dead = append(dead, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range dead {
			if err := gens.DeleteBucket(k); err != nil {
				return fmt.Errorf("remove unfinished import %s: %w", k, err)
			}
		}
		return nil
	})
}

// pointers returns source name -> generation bucket name.
func (d *db) pointers() (map[string]string, error) {
	out := map[string]string{}
	err := d.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktSources).ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	return out, err
}

// newGeneration creates an empty generation bucket for source name.
func (d *db) newGeneration(name string) (string, error) {
	var gen string
	err := d.update(func(tx *bolt.Tx) error {
		var err error
		gen, _, err = createGeneration(tx, name)
		return err
	})
	return gen, err
}

func createGeneration(tx *bolt.Tx, name string) (string, *bolt.Bucket, error) {
	gens := tx.Bucket(bktGens)
	n := uint64(0)
	if v := gens.Get(keyNext); v != nil {
		n, _ = strconv.ParseUint(string(v), 10, 64)
	}
	n++
	if err := gens.Put(keyNext, []byte(strconv.FormatUint(n, 10))); err != nil {
		return "", nil, err
	}
	gen := name + "." + strconv.FormatUint(n, 10)
	g, err := gens.CreateBucket([]byte(gen))
	if err != nil {
		return "", nil, err
	}
	for _, sub := range [][]byte{bktBlob, bktConcept, bktRefset, bktProduct, bktMap} {
		if _, err := g.CreateBucket(sub); err != nil {
			return "", nil, err
		}
	}
	return gen, g, nil
}

// dropGeneration removes an unfinished or replaced generation.
func (d *db) dropGeneration(gen string) {
	if gen == "" {
		return
	}
	_ = d.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktGens).DeleteBucket([]byte(gen))
	})
}

// activate points source name at gen and returns the generation it replaced (or ""). The
// caller drops that one once readers have moved to the new release (dropGeneration); if the
// process dies first, collectGarbage removes it at the next Open.
func (d *db) activate(name, gen string) (string, error) {
	var old string
	err := d.update(func(tx *bolt.Tx) error {
		var err error
		old, err = activateTx(tx, name, gen)
		return err
	})
	return old, err
}

func activateTx(tx *bolt.Tx, name, gen string) (string, error) {
	src := tx.Bucket(bktSources)
	old := string(src.Get([]byte(name)))
	if err := src.Put([]byte(name), []byte(gen)); err != nil {
		return "", err
	}
	if old == gen {
		old = ""
	}
	return old, nil
}

// remove deletes a source and its data (used for code lists).
func (d *db) remove(name string) error {
	return d.update(func(tx *bolt.Tx) error {
		src := tx.Bucket(bktSources)
		old := src.Get([]byte(name))
		if old == nil {
			return nil
		}
		oldName := append([]byte(nil), old...)
		if err := src.Delete([]byte(name)); err != nil {
			return err
		}
		return tx.Bucket(bktGens).DeleteBucket(oldName)
	})
}

// errGenMissing: a reader held a source whose release was replaced meanwhile.
var errGenMissing = errors.New("terminology release replaced during the read")

func genBucket(tx *bolt.Tx, gen string) (*bolt.Bucket, error) {
	g := tx.Bucket(bktGens).Bucket([]byte(gen))
	if g == nil {
		return nil, fmt.Errorf("generation %s: %w", gen, errGenMissing)
	}
	return g, nil
}

// retry runs a read again when an import replaced the source it was reading (the new
// release is loaded by then).
func retry[T any](f func() (T, error)) (T, error) {
	v, err := f()
	for i := 0; i < 3 && errors.Is(err, errGenMissing); i++ {
		v, err = f()
	}
	return v, err
}

func putBlob(g *bolt.Bucket, name string, data []byte) error {
	b := g.Bucket(bktBlob)
	b.FillPercent = 1
	for i := 0; i == 0 || i*blobChunk < len(data); i++ {
		end := min((i+1)*blobChunk, len(data))
		key := binary.BigEndian.AppendUint32([]byte(name+"\x00"), uint32(i))
		if err := b.Put(key, data[i*blobChunk:end]); err != nil {
			return err
		}
	}
	return nil
}

// getBlob copies a blob out of the transaction.
func getBlob(g *bolt.Bucket, name string) []byte {
	b := g.Bucket(bktBlob)
	prefix := []byte(name + "\x00")
	var out []byte
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+4; k, v = c.Next() {
		out = append(out, v...)
	}
	return out
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

type boltTx = bolt.Tx
