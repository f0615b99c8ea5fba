package policy

import (
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// baseSchema is the agent entity model in Cedar's human-readable schema
// format, without the generated Args and Counters types.
//
//go:embed schema.cedarschema
var baseSchema string

// BaseSchema returns the Cedar schema of the agent entity model as
// shipped, in Cedar's human-readable format: the entity types Group,
// Blueprint, Agent, User, Tool and Api, the Context record, and the
// actions invoke_tool, call_api, acquire_token and invoke_agent. An
// engine appends the types Args and Counters, built from its options;
// [Engine.Schema] returns the whole.
func BaseSchema() string { return baseSchema }

// ArgType is the Cedar type of a declared tool argument.
type ArgType int

// Argument types. The Go values each accepts are listed; any other value
// makes the request invalid.
const (
	// ArgLong is a Cedar Long: Go integers, and float64 or json.Number
	// values that are whole numbers within int64 range.
	ArgLong ArgType = iota + 1
	// ArgDecimal is a Cedar decimal (four decimal places): Go integers,
	// floats, json.Number and strings in decimal notation.
	ArgDecimal
	// ArgString is a Cedar String: a Go string.
	ArgString
	// ArgBool is a Cedar Bool: a Go bool.
	ArgBool
	// ArgStrings is a Cedar Set<String>: a []string, or a []any of
	// strings.
	ArgStrings
)

// cedarType returns the schema spelling of t.
func (t ArgType) cedarType() string {
	switch t {
	case ArgLong:
		return "Long"
	case ArgDecimal:
		return "decimal"
	case ArgString:
		return "String"
	case ArgBool:
		return "Bool"
	case ArgStrings:
		return "Set<String>"
	}
	return ""
}

// String returns the Cedar name of t.
func (t ArgType) String() string {
	if s := t.cedarType(); s != "" {
		return s
	}
	return "policy.ArgType(" + strconv.Itoa(int(t)) + ")"
}

// identifier is what a declared argument or counter may be named, so
// that policies write context.args.name.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// reserved are Cedar's reserved words, which cannot follow a dot.
var reserved = []string{"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"}

func checkName(what, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("policy: %s name %q: want a Cedar identifier of at most 64 characters", what, name)
	}
	for _, r := range reserved {
		if name == r {
			return fmt.Errorf("policy: %s name %q is a Cedar reserved word", what, name)
		}
	}
	return nil
}

// schemaText returns the whole schema of cfg: the base schema and the
// generated Args and Counters types.
func schemaText(cfg *config) string {
	var b strings.Builder
	b.WriteString(baseSchema)
	b.WriteString("\n// Generated from the engine's options: the declared tool arguments.\ntype Args = {")
	for i, a := range cfg.args {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  %q?: %s", a.name, a.typ.cedarType())
	}
	b.WriteString("\n};\n\n// Generated from the engine's options: the declared session counters.\ntype Counters = {")
	for i, name := range cfg.counterNames() {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  %q: Long", name)
	}
	b.WriteString("\n};\n")
	return b.String()
}

// newValidator compiles the schema text into a strict validator.
func newValidator(text string) (*validate.Validator, error) {
	var s schema.Schema
	s.SetFilename("schema.cedarschema")
	if err := s.UnmarshalCedar([]byte(text)); err != nil {
		return nil, fmt.Errorf("policy: schema: %w", err)
	}
	r, err := s.Resolve()
	if err != nil {
		return nil, fmt.Errorf("policy: schema: %w", err)
	}
	return validate.New(r, validate.WithStrict()), nil
}
