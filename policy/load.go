package policy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// Limits of what is loaded.
const (
	maxDocumentBytes = 8 << 20
	maxLoadErrors    = 20
)

// policySet is a loaded, validated and indexed set of policies, and
// where it came from. It is immutable.
type policySet struct {
	idx      *index
	digest   [32]byte
	version  string
	revision uint64
	loadedAt time.Time
}

// digestOf hashes the documents of s, to tell a change.
func digestOf(s *Snapshot) [32]byte {
	h := sha256.New()
	for _, d := range s.Documents {
		fmt.Fprintf(h, "%d:%s%d:", len(d.Name), d.Name, len(d.Text))
		h.Write([]byte(d.Text))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// compile parses every document of s, gives each policy its id,
// validates it against the schema and indexes the set. It refuses the
// whole snapshot on the first errors (at most maxLoadErrors of them,
// joined), each a *LoadError.
func compile(v *validate.Validator, s *Snapshot) (*index, error) {
	var (
		entries []entry
		errs    []error
		ids     = map[string]bool{}
	)
	for _, d := range s.Documents {
		if len(errs) >= maxLoadErrors {
			break
		}
		if len(d.Text) > maxDocumentBytes {
			errs = append(errs, &LoadError{File: d.Name, Line: 1, Column: 1, Reason: fmt.Sprintf("document of %d bytes, at most %d", len(d.Text), maxDocumentBytes)})
			continue
		}
		list, err := parse(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range list {
			id, err := policyID(p, d.Name, ids)
			if err == nil {
				err = check(v, id, p)
			}
			if err != nil {
				errs = append(errs, err)
				if len(errs) >= maxLoadErrors {
					break
				}
				continue
			}
			entries = append(entries, newEntry(cedar.PolicyID(id), p))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newIndex(entries), nil
}

// parse parses one document. cedar-go does not panic on any input we
// know of; should it, the panic becomes a LoadError.
func parse(d Document) (list cedar.PolicyList, err error) {
	defer func() {
		if r := recover(); r != nil {
			list, err = nil, &LoadError{File: d.Name, Line: 1, Column: 1, Reason: fmt.Sprintf("the parser failed: %v", r)}
		}
	}()
	list, err = cedar.NewPolicyListFromBytes(d.Name, []byte(d.Text))
	if err != nil {
		return nil, parseError(d.Name, err)
	}
	return list, nil
}

// check validates p against the schema.
func check(v *validate.Validator, id string, p *cedar.Policy) (err error) {
	pos := p.Position()
	le := &LoadError{File: pos.Filename, Line: max(pos.Line, 1), Column: max(pos.Column, 1), PolicyID: id}
	defer func() {
		if r := recover(); r != nil {
			le.Reason = fmt.Sprintf("the validator failed: %v", r)
			err = le
		}
	}()
	if verr := v.Policy(id, (*xast.Policy)(p.AST())); verr != nil {
		le.Reason = "does not validate against the schema: " + strings.ReplaceAll(verr.Error(), "\n", "; ")
		return le
	}
	return nil
}

// policyID returns the id of p: its @id annotation, else
// "file:line" ("file:line:column" when two policies share a line). It
// refuses an id already in ids, and adds it.
func policyID(p *cedar.Policy, file string, ids map[string]bool) (string, error) {
	pos := p.Position()
	id, annotated := p.Annotations()["id"]
	s := string(id)
	if !annotated {
		s = file + ":" + strconv.Itoa(pos.Line)
		if ids[s] {
			s += ":" + strconv.Itoa(pos.Column)
		}
	}
	if s == "" || ids[s] {
		return "", &LoadError{File: file, Line: max(pos.Line, 1), Column: max(pos.Column, 1), PolicyID: s,
			Reason: "the policy id is empty or already taken"}
	}
	ids[s] = true
	return s, nil
}
