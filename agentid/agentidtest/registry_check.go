package agentidtest

import (
	"errors"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// The registry checks a protobuf body in full as it arrives, without
// decoding it into messages (a walk of the wire data against the message
// descriptors), and decodes it only when [Registry.Spans] asks: so that
// receiving is cheap enough to measure an exporter's throughput.

var (
	tracesDesc = (&tracepb.TracesData{}).ProtoReflect().Descriptor()
	spanDesc   = (&tracepb.Span{}).ProtoReflect().Descriptor()
)

const spanIDField = 2 // opentelemetry.proto.trace.v1.Span.span_id

var errWire = errors.New("agentidtest: malformed protobuf body")

// maxWireDepth bounds the nesting of messages (AnyValue arrays and maps
// nest).
const maxWireDepth = 64

// checkTraces checks that b is a well-formed TracesData
// (ExportTraceServiceRequest) and calls span with the span_id of every
// span, in order.
func checkTraces(b []byte, span func(id []byte)) error {
	tablesOnce.Do(func() { tracesTable = tableOf(tracesDesc, map[protoreflect.FullName]*msgTable{}) })
	return checkMessage(b, tracesTable, 0, span)
}

// msgTable is what checking needs of a message descriptor, by field
// number, built once.
type msgTable struct {
	fields []fieldInfo // by field number; kind 0 for none
	span   bool        // the message is a Span
}

type fieldInfo struct {
	kind protoreflect.Kind
	wire protowire.Type
	list bool
	sub  *msgTable // for messages
}

var (
	tablesOnce  sync.Once
	tracesTable *msgTable
)

// tableOf builds the table of md and of the messages it holds; seen ends
// the recursion of self-nesting messages (AnyValue).
func tableOf(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*msgTable) *msgTable {
	if t := seen[md.FullName()]; t != nil {
		return t
	}
	t := &msgTable{span: md == spanDesc}
	seen[md.FullName()] = t
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		n := int(fd.Number())
		if n > 1024 {
			continue // checked as an unknown field
		}
		for len(t.fields) <= n {
			t.fields = append(t.fields, fieldInfo{})
		}
		fi := fieldInfo{kind: fd.Kind(), wire: wireType(fd.Kind()), list: fd.IsList()}
		if fd.Kind() == protoreflect.MessageKind {
			fi.sub = tableOf(fd.Message(), seen)
		}
		t.fields[n] = fi
	}
	return t
}

func checkMessage(b []byte, t *msgTable, depth int, span func(id []byte)) error {
	if depth > maxWireDepth {
		return errWire
	}
	var id []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errWire
		}
		b = b[n:]
		if int(num) >= len(t.fields) || t.fields[num].kind == 0 { // unknown field: skip it whole
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return errWire
			}
			b = b[n:]
			continue
		}
		if n = checkField(b, &t.fields[num], typ, depth, span); n < 0 {
			return errWire
		}
		if t.span && num == spanIDField {
			id, _ = protowire.ConsumeBytes(b)
		}
		b = b[n:]
	}
	if t.span && span != nil {
		span(id)
	}
	return nil
}

// checkField checks one value of fi in wire type typ at the start of b
// and returns its length, or -1.
func checkField(b []byte, fi *fieldInfo, typ protowire.Type, depth int, span func(id []byte)) int {
	if typ != fi.wire {
		if typ != protowire.BytesType || !fi.list || fi.wire == protowire.BytesType {
			return -1
		}
		// A packed repeated scalar.
		v, n := protowire.ConsumeBytes(b)
		for n >= 0 && len(v) > 0 {
			m := protowire.ConsumeFieldValue(0, fi.wire, v)
			if m < 0 {
				return -1
			}
			v = v[m:]
		}
		return n
	}
	switch fi.kind {
	case protoreflect.StringKind:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 || !utf8.Valid(v) {
			return -1
		}
		return n
	case protoreflect.MessageKind:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 || checkMessage(v, fi.sub, depth+1, span) != nil {
			return -1
		}
		return n
	case protoreflect.GroupKind:
		return -1
	}
	return protowire.ConsumeFieldValue(0, typ, b)
}

// wireType is the wire type of a field kind, not packed.
func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}
