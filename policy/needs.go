package policy

import (
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// ctxNeed is a set of context attributes: those a policy reads, and so
// those a decision must build. Cedar builds every record in full (it
// clones, sorts and hashes it), which costs more than deciding over a
// few policies, so a decision builds only the attributes its candidate
// policies name.
//
// A policy can read the context only through the variable context, and
// attribute names are literals in Cedar (context.a, context has a,
// context["a"]); a policy whose every use of context is such an access
// sees the same values whether the other attributes are there or not.
// Any other use of context (context == {…}, [context], context as an
// argument) needs them all.
type ctxNeed uint16

const (
	needTime ctxNeed = 1 << iota
	needSourceIP
	needRisk
	needScopes
	needDelegation
	needUser
	needSession
	needHTTP
	needArgs
	needCounters

	needAll ctxNeed = 1<<iota - 1
)

var contextAttrs = map[types.String]ctxNeed{
	"time": needTime, "source_ip": needSourceIP, "risk": needRisk, "scopes": needScopes,
	"delegation": needDelegation, "user": needUser, "session": needSession, "http": needHTTP,
	"args": needArgs, "counters": needCounters,
}

// needsOf returns the context attributes the conditions of p read.
func needsOf(p *ast.Policy) ctxNeed {
	var need ctxNeed
	attr := func(arg xast.IsNode, name types.String) bool {
		if v, ok := arg.(xast.NodeTypeVariable); ok && v.Name == "context" {
			if n, ok := contextAttrs[name]; ok {
				need |= n
			} else {
				need = needAll
			}
			return true
		}
		return false
	}
	for _, c := range (*xast.Policy)(p).Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			switch t := n.(type) {
			case xast.NodeTypeAccess:
				return !attr(t.Arg, t.Value)
			case xast.NodeTypeHas:
				return !attr(t.Arg, t.Value)
			case xast.NodeTypeVariable:
				if t.Name == "context" {
					need = needAll
				}
			}
			return true
		})
	}
	return need
}
