package agentid

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// A strict, allocation-light reader of the JSON objects of a JWT: the
// protected header (read before the signature is checked, so from anyone)
// and the claims set. It validates the whole input against RFC 8259
// (UTF-8 strings, no control characters, number grammar, nesting at most
// jsonMaxDepth deep, nothing after the top-level value), hands the
// members of the top-level object to a callback as raw spans, and
// decodes the few value shapes claims take. Member names are matched
// exactly, not case-insensitively as encoding/json matches struct fields.
// Strings with escapes are decoded by encoding/json.

// jsonMaxDepth bounds the nesting of arrays and objects.
const jsonMaxDepth = 64

// errJSON is the cause of every syntax error; its message names no input.
var errJSON = errors.New("invalid JSON")

// Kinds of JSON values, as jsonValue.kind.
const (
	kindString = '"'
	kindObject = '{'
	kindArray  = '['
	kindNumber = '0'
	kindTrue   = 't'
	kindFalse  = 'f'
	kindNull   = 'n'
)

// jsonValue is one scanned value: its kind and its text in the input.
// Strings taken from it share the input's memory.
type jsonValue struct {
	kind    byte
	raw     string
	escaped bool // a string with at least one escape sequence
}

// scanner validates JSON from data[pos:].
type scanner struct {
	data  string
	pos   int
	depth int
}

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume skips c if it is next.
func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// value scans the value after optional whitespace.
func (s *scanner) value() (jsonValue, error) {
	s.skipWS()
	if s.pos >= len(s.data) {
		return jsonValue{}, errJSON
	}
	start := s.pos
	var v jsonValue
	var err error
	switch c := s.data[s.pos]; {
	case c == '"':
		v.kind = kindString
		v.escaped, err = s.str()
	case c == '{':
		v.kind = kindObject
		err = s.container('}')
	case c == '[':
		v.kind = kindArray
		err = s.container(']')
	case c == '-' || c >= '0' && c <= '9':
		v.kind = kindNumber
		err = s.number()
	case c == 't':
		v.kind = kindTrue
		err = s.literal("true")
	case c == 'f':
		v.kind = kindFalse
		err = s.literal("false")
	case c == 'n':
		v.kind = kindNull
		err = s.literal("null")
	default:
		err = errJSON
	}
	v.raw = s.data[start:s.pos]
	return v, err
}

// str scans a string whose opening quote is at pos, and reports whether
// it holds escapes.
func (s *scanner) str() (escaped bool, err error) {
	s.pos++
	start := s.pos
	nonASCII := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			if nonASCII && !utf8.ValidString(s.data[start:s.pos]) {
				return false, errJSON
			}
			s.pos++
			return escaped, nil
		case c == '\\':
			escaped = true
			s.pos++
			if s.pos >= len(s.data) {
				return false, errJSON
			}
			switch s.data[s.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos++
			case 'u':
				if s.pos+5 > len(s.data) {
					return false, errJSON
				}
				for i := s.pos + 1; i < s.pos+5; i++ {
					if !isHex(s.data[i]) {
						return false, errJSON
					}
				}
				s.pos += 5
			default:
				return false, errJSON
			}
		case c < 0x20:
			return false, errJSON
		default:
			if c >= 0x80 {
				nonASCII = true
			}
			s.pos++
		}
	}
	return false, errJSON
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number scans a number (RFC 8259 §6).
func (s *scanner) number() error {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.digits() == 0:
		return errJSON
	}
	if s.consume('.') && s.digits() == 0 {
		return errJSON
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if s.digits() == 0 {
			return errJSON
		}
	}
	return nil
}

// digits skips decimal digits and returns how many.
func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || s.data[s.pos:s.pos+len(lit)] != lit {
		return errJSON
	}
	s.pos += len(lit)
	return nil
}

// container scans an object or array whose opening bracket is at pos.
func (s *scanner) container(end byte) error {
	s.depth++
	if s.depth > jsonMaxDepth {
		return errJSON
	}
	s.pos++
	s.skipWS()
	if s.consume(end) {
		s.depth--
		return nil
	}
	for {
		if end == '}' {
			s.skipWS()
			if s.pos >= len(s.data) || s.data[s.pos] != '"' {
				return errJSON
			}
			if _, err := s.str(); err != nil {
				return err
			}
			s.skipWS()
			if !s.consume(':') {
				return errJSON
			}
		}
		if _, err := s.value(); err != nil {
			return err
		}
		s.skipWS()
		if s.consume(',') {
			continue
		}
		if s.consume(end) {
			s.depth--
			return nil
		}
		return errJSON
	}
}

// eachMember validates data as one JSON object and calls fn with the
// name and value of each member, in order (a repeated name is seen
// twice; the last assignment wins). fn's error stops the scan.
func eachMember(data string, fn func(name string, v jsonValue) error) error {
	s := scanner{data: data, depth: 1}
	s.skipWS()
	if !s.consume('{') {
		return errJSON
	}
	s.skipWS()
	if !s.consume('}') {
		for {
			s.skipWS()
			if s.pos >= len(s.data) || s.data[s.pos] != '"' {
				return errJSON
			}
			start := s.pos
			escaped, err := s.str()
			if err != nil {
				return err
			}
			name := s.data[start+1 : s.pos-1]
			if escaped {
				var n string
				if err := json.Unmarshal([]byte(s.data[start:s.pos]), &n); err != nil {
					return errJSON
				}
				name = n
			}
			s.skipWS()
			if !s.consume(':') {
				return errJSON
			}
			v, err := s.value()
			if err != nil {
				return err
			}
			if err := fn(name, v); err != nil {
				return err
			}
			s.skipWS()
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return errJSON
		}
	}
	s.skipWS()
	if s.pos != len(s.data) {
		return errJSON
	}
	return nil
}

// eachElement calls fn with each element of an array value.
func eachElement(arr jsonValue, fn func(v jsonValue) error) error {
	s := scanner{data: arr.raw, depth: 1}
	s.consume('[')
	s.skipWS()
	if s.consume(']') {
		return nil
	}
	for {
		v, err := s.value()
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		s.skipWS()
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			return nil
		}
		return errJSON
	}
}

// Errors of value shapes; they name no input.
var (
	errNotString     = errors.New("not a string")
	errNotStrings    = errors.New("neither a string nor an array of strings")
	errNotDate       = errors.New("not a NumericDate in range")
	errNotFacets     = errors.New("not a set of small non-negative integers")
	errNotActObject  = errors.New("act is not an object")
	errActChainDepth = errors.New("act chain deeper than MaxDelegationDepth")
)

// text returns a string value, "" for null.
func (v jsonValue) text() (string, error) {
	switch {
	case v.kind == kindNull:
		return "", nil
	case v.kind != kindString:
		return "", errNotString
	case !v.escaped:
		return v.raw[1 : len(v.raw)-1], nil
	}
	var s string
	if err := json.Unmarshal([]byte(v.raw), &s); err != nil {
		return "", errNotString
	}
	return s, nil
}

// strings returns a string as one value (nil when empty) or an array of
// strings; nil for null.
func (v jsonValue) strings() ([]string, error) {
	switch v.kind {
	case kindNull:
		return nil, nil
	case kindString:
		s, err := v.text()
		if err != nil || s == "" {
			return nil, err
		}
		return []string{s}, nil
	case kindArray:
		var out []string
		err := eachElement(v, func(e jsonValue) error {
			if e.kind != kindString {
				return errNotStrings
			}
			s, err := e.text()
			out = append(out, s)
			return err
		})
		return out, err
	}
	return nil, errNotStrings
}

// date returns a NumericDate: a number of seconds, possibly fractional,
// from 0 to year 9999; unset for null.
func (v jsonValue) date() (numericDate, error) {
	switch v.kind {
	case kindNull:
		return numericDate{}, nil
	case kindNumber:
	default:
		return numericDate{}, errNotDate
	}
	if len(v.raw) <= 15 && v.raw[0] != '-' {
		var n int64
		plain := true
		for i := 0; i < len(v.raw); i++ {
			c := v.raw[i]
			if c < '0' || c > '9' {
				plain = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if plain {
			if n > maxNumericDate {
				return numericDate{}, errNotDate
			}
			return numericDate{sec: n, set: true}, nil
		}
	}
	f, err := strconv.ParseFloat(v.raw, 64)
	if err != nil || !(f >= 0 && f <= maxNumericDate) {
		return numericDate{}, errNotDate
	}
	sec := int64(f)
	return numericDate{sec: sec, nsec: int64((f - float64(sec)) * 1e9), set: true}, nil
}
