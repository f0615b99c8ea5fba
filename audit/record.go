package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Spool records. A segment file is a sequence of records:
//
//	magic   4 bytes  "PSR1"
//	length  4 bytes  big-endian length of the payload
//	crc     4 bytes  big-endian CRC-32C (Castagnoli) of length and payload
//	payload length bytes:
//	    version   1 byte   1
//	    encoding  1 byte   0 protobuf, 1 JSON
//	    spans     4 bytes  big-endian number of spans in the body
//	    path      2-byte big-endian length, then the path and query
//	    tenant    2-byte length, then the Agent 365 tenant id (may be empty)
//	    agent     2-byte length, then the Agent 365 agent id (may be empty)
//	    body      the rest: the request body as it is posted, an OTLP
//	              ExportTraceServiceRequest in the encoding above
const (
	recordMagic   = "PSR1"
	recordHeader  = 12
	recordVersion = 1
	// maxRecordBytes bounds the payload length a reader accepts, so that
	// a corrupt length never makes it allocate more.
	maxRecordBytes = 64 << 20
	// maxFieldBytes bounds the path and ids of a record.
	maxFieldBytes = 2048
	// recordOverhead bounds what a record adds to its body.
	recordOverhead = recordHeader + 6 + 3*(2+maxFieldBytes)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errRecord = errors.New("audit: corrupt spool record")

// encodeRecord returns the record of b: header and payload.
func encodeRecord(b *body) ([]byte, error) {
	if len(b.path) > maxFieldBytes || len(b.tenant) > maxFieldBytes || len(b.agent) > maxFieldBytes {
		return nil, errors.New("audit: spool record: path or id too long")
	}
	n := 6 + 6 + len(b.path) + len(b.tenant) + len(b.agent) + len(b.data)
	if n > maxRecordBytes {
		return nil, errors.New("audit: spool record too large")
	}
	rec := make([]byte, recordHeader, recordHeader+n)
	copy(rec, recordMagic)
	binary.BigEndian.PutUint32(rec[4:8], uint32(n))
	rec = append(rec, recordVersion, byte(b.enc))
	rec = binary.BigEndian.AppendUint32(rec, uint32(b.spans))
	for _, f := range []string{b.path, b.tenant, b.agent} {
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(f)))
		rec = append(rec, f...)
	}
	rec = append(rec, b.data...)
	binary.BigEndian.PutUint32(rec[8:12], recordCRC(rec[4:8], rec[recordHeader:]))
	return rec, nil
}

// recordCRC is the CRC-32C of a record's length field and payload.
func recordCRC(length, payload []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, length), castagnoli, payload)
}

// decodeRecord checks the record at the start of data and returns its
// body and total size. It fails on anything short, corrupt or of an
// unknown version.
func decodeRecord(data []byte) (*body, int, error) {
	if len(data) < recordHeader || string(data[:4]) != recordMagic {
		return nil, 0, errRecord
	}
	n := binary.BigEndian.Uint32(data[4:8])
	if n > maxRecordBytes || int(n) > len(data)-recordHeader {
		return nil, 0, errRecord
	}
	payload := data[recordHeader : recordHeader+int(n)]
	if binary.BigEndian.Uint32(data[8:12]) != recordCRC(data[4:8], payload) {
		return nil, 0, errRecord
	}
	if len(payload) < 6 || payload[0] != recordVersion || payload[1] > byte(EncodingJSON) {
		return nil, 0, errRecord
	}
	b := &body{enc: Encoding(payload[1]), spans: int(binary.BigEndian.Uint32(payload[2:6]))}
	rest := payload[6:]
	var fields [3]string
	for i := range fields {
		if len(rest) < 2 {
			return nil, 0, errRecord
		}
		l := int(binary.BigEndian.Uint16(rest))
		if l > maxFieldBytes || len(rest) < 2+l {
			return nil, 0, errRecord
		}
		fields[i] = string(rest[2 : 2+l])
		rest = rest[2+l:]
	}
	b.path, b.tenant, b.agent = fields[0], fields[1], fields[2]
	if b.path == "" || b.path[0] != '/' {
		return nil, 0, errRecord
	}
	b.data = rest // aliases data
	return b, recordHeader + int(n), nil
}

// recordRef locates a valid record in a segment.
type recordRef struct {
	off   int64
	size  int64
	spans int
}

// scanSegment returns the valid records of a segment's data from offset
// start, the number of corrupt regions skipped (a torn write at the end,
// a flipped byte), and the length of the valid prefix to keep when the
// data ends with a corrupt region (else len(data)). After a corrupt
// record it resynchronises on the next magic that starts a valid record.
func scanSegment(data []byte, start int64) (refs []recordRef, torn int, keep int64) {
	keep = int64(len(data))
	off := start
	for off < int64(len(data)) {
		b, n, err := decodeRecord(data[off:])
		if err == nil {
			refs = append(refs, recordRef{off: off, size: int64(n), spans: b.spans})
			off += int64(n)
			continue
		}
		torn++
		next := resync(data, off+1)
		if next < 0 {
			keep = off
			break
		}
		off = next
	}
	return refs, torn, keep
}

// resync returns the offset of the next valid record at or after from,
// or -1.
func resync(data []byte, from int64) int64 {
	for from < int64(len(data)) {
		i := bytes.Index(data[from:], []byte(recordMagic))
		if i < 0 {
			return -1
		}
		at := from + int64(i)
		if _, _, err := decodeRecord(data[at:]); err == nil {
			return at
		}
		from = at + 1
	}
	return -1
}

// Cursor file: what was delivered. It holds the segment and offset of
// the first record not yet delivered: "PSC1", segment (8 bytes), offset
// (8 bytes), CRC-32C of the 20 bytes before (4 bytes), all big-endian.
const (
	cursorMagic = "PSC1"
	cursorSize  = 24
)

type cursor struct {
	seq uint64
	off int64
}

func encodeCursor(c cursor) []byte {
	b := make([]byte, 0, cursorSize)
	b = append(b, cursorMagic...)
	b = binary.BigEndian.AppendUint64(b, c.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(c.off))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeCursor(b []byte) (cursor, error) {
	if len(b) != cursorSize || string(b[:4]) != cursorMagic ||
		binary.BigEndian.Uint32(b[20:]) != crc32.Checksum(b[:20], castagnoli) {
		return cursor{}, errors.New("audit: corrupt spool cursor")
	}
	off := binary.BigEndian.Uint64(b[12:20])
	if off > 1<<62 {
		return cursor{}, errors.New("audit: corrupt spool cursor")
	}
	return cursor{seq: binary.BigEndian.Uint64(b[4:12]), off: int64(off)}, nil
}
