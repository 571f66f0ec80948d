package terminology

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// inputFile is one file of a release, on disk or inside a zip.
type inputFile struct {
	name string // shown in errors: path, or zip path + "/" + entry
	base string
	open func() (io.ReadCloser, error)
}

// inputs expands folders and zips (recursively for folders; zips nested in zips are read too).
type inputs struct {
	files   []inputFile
	closers []io.Closer
}

func (in *inputs) Close() {
	for _, c := range in.closers {
		c.Close()
	}
}

func collectInputs(paths []string) (*inputs, error) {
	in := &inputs{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if st.IsDir() {
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					return nil
				}
				return in.addFile(path)
			})
			if err != nil {
				in.Close()
				return nil, fmt.Errorf("read %s: %w", p, err)
			}
			continue
		}
		if err := in.addFile(p); err != nil {
			in.Close()
			return nil, err
		}
	}
	sort.SliceStable(in.files, func(i, j int) bool { return in.files[i].name < in.files[j].name })
	return in, nil
}

func (in *inputs) addFile(path string) error {
	if strings.EqualFold(filepath.Ext(path), ".zip") {
		z, err := zip.OpenReader(path)
		if err != nil {
			return fmt.Errorf("open zip %s: %w", path, err)
		}
		in.closers = append(in.closers, z)
		return in.addZip(path, &z.Reader)
	}
	path2 := path
	in.files = append(in.files, inputFile{name: path, base: filepath.Base(path), open: func() (io.ReadCloser, error) {
		return os.Open(path2)
	}})
	return nil
}

func (in *inputs) addZip(name string, z *zip.Reader) error {
	for _, f := range z.File {
		if f.FileInfo().IsDir() {
			continue
		}
		f := f
		full := name + "/" + f.Name
		if strings.EqualFold(filepath.Ext(f.Name), ".zip") {
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("open %s: %w", full, err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", full, err)
			}
			inner, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return fmt.Errorf("open zip %s: %w", full, err)
			}
			if err := in.addZip(full, inner); err != nil {
				return err
			}
			continue
		}
		in.files = append(in.files, inputFile{name: full, base: filepath.Base(f.Name), open: f.Open})
	}
	return nil
}

// maxLineBytes bounds one line of a terminology file.
const maxLineBytes = 16 << 20

// lineReader yields lines without their line end (LF or CRLF), counting from 1.
type lineReader struct {
	r    *bufio.Reader
	line int
	buf  []byte
	// truncated is set when the last line had no line end (a release file always ends with one
	// in practice, but a missing final newline alone is not treated as an error).
	truncated bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<20)}
}

// next returns the next line; the slice is valid until the following call.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.buf = append(l.buf[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = l.r.ReadSlice('\n')
			l.buf = append(l.buf, line...)
			if len(l.buf) > maxLineBytes {
				// No release row comes near this: a file without line ends
				// (or not a release file) would otherwise be read whole.
				return nil, fmt.Errorf("line %d is longer than %d MiB: not a release file", l.line+1, maxLineBytes>>20)
			}
		}
		line = l.buf
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(line) == 0 && errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	l.line++
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	} else {
		l.truncated = true
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if l.line == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, nil
}
