package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Source supplies the policy documents of an engine. Load is called at
// [New], on [Engine.Reload], and on every poll of [WithWatch]; it must
// be safe for concurrent use and should be cheap when nothing changed.
type Source interface {
	Load(ctx context.Context) (Snapshot, error)
}

// Snapshot is the content of a source at one moment.
type Snapshot struct {
	// Documents are the policy documents, in Cedar's policy language.
	Documents []Document
	// Version names the snapshot, such as a signed bundle's version; it
	// may be empty.
	Version string
}

// Document is one text of Cedar policies.
type Document struct {
	// Name names the document in policy ids and errors: a file path, or
	// the name given to [FromString].
	Name string
	// Text is the policies.
	Text string
}

// FromString returns a source of one document, text, named name.
func FromString(name, text string) Source {
	return staticSource{Snapshot{Documents: []Document{{Name: name, Text: text}}}}
}

type staticSource struct{ s Snapshot }

func (s staticSource) Load(context.Context) (Snapshot, error) { return s.s, nil }

// Sources returns a source of the documents of every src, in order. Its
// version joins theirs with "+". Loading fails if any of them fails.
func Sources(srcs ...Source) Source { return multiSource(slices.Clone(srcs)) }

type multiSource []Source

func (m multiSource) Load(ctx context.Context) (Snapshot, error) {
	var out Snapshot
	var versions []string
	for _, s := range m {
		snap, err := s.Load(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		out.Documents = append(out.Documents, snap.Documents...)
		if snap.Version != "" {
			versions = append(versions, snap.Version)
		}
	}
	out.Version = strings.Join(versions, "+")
	return out, nil
}

// FromFiles returns a source of .cedar files: each path is a file (read
// whatever its name) or a directory (every file whose name ends in
// .cedar under it, at any depth, in lexical order). Documents are named
// by their paths. A file larger than 8 MiB, or a path that does not
// exist, fails the load.
//
// Files are read again only when the list of files, a size or a
// modification time changed since the last load.
func FromFiles(paths ...string) Source { return &fileSource{paths: slices.Clone(paths)} }

type fileSource struct {
	paths []string

	mu    sync.Mutex // guards stamp and docs
	stamp []fileStamp
	docs  []Document
}

type fileStamp struct {
	path  string
	size  int64
	mtime time.Time
}

func (f *fileSource) Load(ctx context.Context) (Snapshot, error) {
	stamps, err := f.list()
	if err != nil {
		return Snapshot{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.docs != nil && slices.Equal(stamps, f.stamp) {
		return Snapshot{Documents: f.docs}, nil
	}
	docs := make([]Document, 0, len(stamps))
	for _, st := range stamps {
		if err := ctx.Err(); err != nil {
			return Snapshot{}, err
		}
		text, err := readFile(st.path)
		if err != nil {
			return Snapshot{}, err
		}
		docs = append(docs, Document{Name: st.path, Text: text})
	}
	f.stamp, f.docs = stamps, docs
	return Snapshot{Documents: docs}, nil
}

// list finds the files and their stamps.
func (f *fileSource) list() ([]fileStamp, error) {
	var out []fileStamp
	for _, p := range f.paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, fileStamp{p, fi.Size(), fi.ModTime()})
			continue
		}
		var found []fileStamp
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(d.Name(), ".cedar") {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			found = append(found, fileStamp{path, fi.Size(), fi.ModTime()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		slices.SortFunc(found, func(a, b fileStamp) int { return strings.Compare(a.path, b.path) })
		out = append(out, found...)
	}
	return out, nil
}

// readFile reads a policy file of at most maxDocumentBytes.
func readFile(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("policy: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxDocumentBytes+1))
	if err != nil {
		return "", fmt.Errorf("policy: %s: %w", path, err)
	}
	if len(b) > maxDocumentBytes {
		return "", fmt.Errorf("policy: %s: %w", path, errTooLarge)
	}
	return string(b), nil
}

var errTooLarge = errors.New("file larger than 8 MiB")
