package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// File names in a spool directory.
const (
	segmentPrefix = "spool-"
	segmentSuffix = ".log"
	cursorName    = "cursor"
	lockName      = "lock"
)

// spool is a durable FIFO of request bodies in a directory: segment files
// of records (see record.go), a cursor file naming the first record not
// yet delivered, and a lock file that keeps other processes out.
//
// Appends write one record with one write and fsync it (and the
// directory when a segment is created); a record is durable when append
// returns. Segment files are never appended to after a restart: the next
// append starts a new segment. Delivered segments are deleted, and all of
// them once everything is delivered.
type spool struct {
	dir    string
	max    int64 // bound of the segment files' total size
	segMax int64 // a segment takes no more records past this size
	log    *slog.Logger
	unlock func() error // releases the directory lock

	mu         sync.Mutex    // guards everything below
	segs       []*segment    // by ascending seq
	queue      []spoolRef    // undelivered records, oldest first
	total      int64         // bytes of the segment files
	pending    int64         // spans in queue
	nextSeq    uint64        // seq of the next segment created
	appendable bool          // the last segment takes appends (created by this process)
	changed    chan struct{} // closed and replaced whenever queue changes
	closed     bool
}

type segment struct {
	seq  uint64
	f    *os.File
	size int64
}

// spoolRef is an undelivered record.
type spoolRef struct {
	seg *segment
	recordRef
}

// openSpool opens or creates the spool in dir, bounded by max bytes of
// segments. It scans every segment, skips corrupt records (truncating a
// corrupt tail) and returns how many corrupt regions it found.
func openSpool(dir string, maxBytes int64, log *slog.Logger) (*spool, int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, fmt.Errorf("audit: creating the spool directory: %w", err)
	}
	unlock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, 0, err
	}
	s := &spool{dir: dir, max: maxBytes, log: log, unlock: unlock, changed: make(chan struct{})}
	s.segMax = min(max(maxBytes/8, 256<<10), 16<<20)
	torn, err := s.load()
	if err != nil {
		_ = s.close()
		return nil, 0, err
	}
	return s, torn, nil
}

// load reads the cursor and scans the segments.
func (s *spool) load() (int, error) {
	cur := cursor{}
	if raw, err := os.ReadFile(filepath.Join(s.dir, cursorName)); err == nil {
		if cur, err = decodeCursor(raw); err != nil {
			// Every record left is sent again: duplicates, never losses.
			s.log.Warn("audit: spool cursor unreadable, re-sending every spooled record", "dir", s.dir)
			cur = cursor{}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("audit: reading the spool cursor: %w", err)
	}
	seqs, err := s.segmentSeqs()
	if err != nil {
		return 0, err
	}
	torn, removed := 0, false
	s.nextSeq = max(cur.seq, 1)
	for _, seq := range seqs {
		s.nextSeq = max(s.nextSeq, seq+1)
		name := s.segmentPath(seq)
		if seq < cur.seq {
			removed = true
			if err := os.Remove(name); err != nil {
				return torn, fmt.Errorf("audit: removing a delivered spool segment: %w", err)
			}
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return torn, fmt.Errorf("audit: reading a spool segment: %w", err)
		}
		start := int64(0)
		if seq == cur.seq {
			start = min(cur.off, int64(len(data)))
		}
		refs, t, keep := scanSegment(data, start)
		torn += t
		if t > 0 {
			s.log.Warn("audit: skipped corrupt spool records", "segment", filepath.Base(name), "regions", t)
		}
		if len(refs) == 0 {
			removed = true
			if err := os.Remove(name); err != nil {
				return torn, fmt.Errorf("audit: removing an empty spool segment: %w", err)
			}
			continue
		}
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			return torn, fmt.Errorf("audit: opening a spool segment: %w", err)
		}
		if keep < int64(len(data)) {
			// A torn tail: cut it off, so the file holds whole records.
			if err := f.Truncate(keep); err == nil {
				_ = f.Sync()
			} else {
				keep = int64(len(data))
			}
		}
		seg := &segment{seq: seq, f: f, size: keep}
		s.segs = append(s.segs, seg)
		s.total += keep
		for _, r := range refs {
			s.queue = append(s.queue, spoolRef{seg: seg, recordRef: r})
			s.pending += int64(r.spans)
		}
	}
	if removed {
		if err := syncDir(s.dir); err != nil {
			return torn, err
		}
	}
	return torn, nil
}

// segmentSeqs lists the sequence numbers of the segment files, ascending.
func (s *spool) segmentSeqs() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("audit: listing the spool directory: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		digits := strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix)
		seq, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || len(digits) != 16 || seq == 0 {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

func (s *spool) segmentPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s%016d%s", segmentPrefix, seq, segmentSuffix))
}

// append writes b as one record and fsyncs it. It returns ErrSpoolFull,
// writing nothing, when the record would pass the bound.
func (s *spool) append(b *body) error {
	rec, err := encodeRecord(b)
	if err != nil {
		return err
	}
	size := int64(len(rec))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.total+size > s.max {
		return ErrSpoolFull
	}
	var seg *segment
	if n := len(s.segs); n > 0 && s.appendable && (s.segs[n-1].size == 0 || s.segs[n-1].size+size <= s.segMax) {
		seg = s.segs[n-1]
	} else if seg, err = s.newSegment(); err != nil {
		return err
	}
	if _, err := seg.f.WriteAt(rec, seg.size); err != nil {
		_ = seg.f.Truncate(seg.size)
		return fmt.Errorf("audit: writing to the spool: %w", err)
	}
	if err := seg.f.Sync(); err != nil {
		_ = seg.f.Truncate(seg.size)
		return fmt.Errorf("audit: syncing the spool: %w", err)
	}
	s.queue = append(s.queue, spoolRef{seg: seg, recordRef: recordRef{off: seg.size, size: size, spans: b.spans}})
	seg.size += size
	s.total += size
	s.pending += int64(b.spans)
	s.notify()
	return nil
}

// newSegment creates the next segment file and syncs the directory.
func (s *spool) newSegment() (*segment, error) {
	seq := s.nextSeq
	f, err := os.OpenFile(s.segmentPath(seq), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: creating a spool segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		_ = f.Close()
		_ = os.Remove(s.segmentPath(seq))
		return nil, err
	}
	s.nextSeq++
	seg := &segment{seq: seq, f: f}
	s.segs = append(s.segs, seg)
	s.appendable = true
	return seg, nil
}

// peek returns the oldest undelivered record.
func (s *spool) peek() (spoolRef, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 || s.closed {
		return spoolRef{}, false
	}
	return s.queue[0], true
}

// read returns the body of ref, checking its checksum again.
func (s *spool) read(ref spoolRef) (*body, error) {
	buf := make([]byte, ref.size)
	if _, err := ref.seg.f.ReadAt(buf, ref.off); err != nil {
		return nil, fmt.Errorf("audit: reading the spool: %w", err)
	}
	b, n, err := decodeRecord(buf)
	if err != nil || int64(n) != ref.size {
		return nil, errRecord
	}
	return b, nil
}

// commit marks ref, the oldest record, delivered (or given up): it
// writes the cursor past it and deletes the segments left behind.
func (s *spool) commit(ref spoolRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(s.queue) == 0 || s.queue[0] != ref {
		return errors.New("audit: spool commit out of order")
	}
	s.queue = s.queue[1:]
	s.pending -= int64(ref.spans)
	s.notify()
	next := cursor{seq: s.nextSeq}
	if len(s.queue) > 0 {
		next = cursor{seq: s.queue[0].seg.seq, off: s.queue[0].off}
	}
	if err := writeCursor(s.dir, next); err != nil {
		return err
	}
	keep := s.segs[:0]
	removed := false
	for _, seg := range s.segs {
		if seg.seq >= next.seq {
			keep = append(keep, seg)
			continue
		}
		_ = seg.f.Close()
		if err := os.Remove(s.segmentPath(seg.seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("audit: removing a delivered spool segment", "error", err)
		}
		s.total -= seg.size
		removed = true
	}
	clear(s.segs[len(keep):])
	s.segs = keep
	if len(s.segs) == 0 {
		s.appendable = false
	}
	if removed {
		return syncDir(s.dir)
	}
	return nil
}

// notify wakes the watchers of the queue. s.mu must be held.
func (s *spool) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// watch returns the number of records waiting and a channel closed at
// the next change.
func (s *spool) watch() (int, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue), s.changed
}

// usage returns the spans waiting and the bytes of the segment files.
func (s *spool) usage() (pending, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending, s.total
}

// close closes the files and releases the directory. It is idempotent.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, seg := range s.segs {
		errs = append(errs, seg.f.Close())
	}
	if s.unlock != nil {
		errs = append(errs, s.unlock())
	}
	return errors.Join(errs...)
}

// writeCursor replaces the cursor file atomically and durably: a
// temporary file, fsync, rename, fsync of the directory.
func writeCursor(dir string, c cursor) error {
	tmp := filepath.Join(dir, cursorName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("audit: writing the spool cursor: %w", err)
	}
	_, err = f.Write(encodeCursor(c))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, cursorName))
	}
	if err != nil {
		return fmt.Errorf("audit: writing the spool cursor: %w", err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory, so that files created, renamed or removed
// in it stay so after a crash. Windows has no directory fsync (NTFS
// journals its metadata): there it does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: syncing the spool directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: syncing the spool directory: %w", err)
	}
	return nil
}
