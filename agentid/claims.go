package agentid

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxDelegationDepth is the deepest RFC 8693 act chain a token may carry;
// a token with a deeper chain is rejected as malformed.
const MaxDelegationDepth = 16

// maxNumericDate is 9999-12-31T23:59:59Z, the largest exp, nbf or iat
// accepted.
const maxNumericDate = 253402300799

// maxFacet bounds a facet value of xms_act_fct or xms_sub_fct.
const maxFacet = 1 << 16

// claims are the claims of an access token that the Verifier reads:
// those of RFC 7519 §4.1, RFC 8693 §4 and RFC 9068 §2.2, and the ones
// Microsoft Entra ID adds for agents. Other claims are read on demand by
// Principal.Claim.
type claims struct {
	Iss      string
	Sub      string
	Aud      []string // aud: a string or an array of strings
	Exp      numericDate
	Nbf      numericDate
	Iat      numericDate
	Jti      string
	Uti      string
	Azp      string
	AppID    string // appid
	ClientID string // client_id
	Idtyp    string
	Oid      string
	Tid      string
	Upn      string
	Username string   // preferred_username
	Scp      []string // scp: a space-separated string or an array
	Scope    []string // scope: likewise
	Roles    []string // roles: an array of strings, or one string
	Parent   string   // xms_par_app_azp
	ActFct   []int    // xms_act_fct
	SubFct   []int    // xms_sub_fct
	Act      []Actor  // act, outermost first
}

// decodeClaims decodes the JSON claims set of a token: an object whose
// known claims must have their shapes (a null claim is an absent one).
func decodeClaims(payload string) (*claims, error) {
	c := new(claims)
	err := eachMember(payload, func(name string, v jsonValue) error {
		var err error
		switch name {
		case "iss":
			c.Iss, err = v.text()
		case "sub":
			c.Sub, err = v.text()
		case "aud":
			c.Aud, err = v.strings()
		case "exp":
			c.Exp, err = v.date()
		case "nbf":
			c.Nbf, err = v.date()
		case "iat":
			c.Iat, err = v.date()
		case "jti":
			c.Jti, err = v.text()
		case "uti":
			c.Uti, err = v.text()
		case "azp":
			c.Azp, err = v.text()
		case "appid":
			c.AppID, err = v.text()
		case "client_id":
			c.ClientID, err = v.text()
		case "idtyp":
			c.Idtyp, err = v.text()
		case "oid":
			c.Oid, err = v.text()
		case "tid":
			c.Tid, err = v.text()
		case "upn":
			c.Upn, err = v.text()
		case "preferred_username":
			c.Username, err = v.text()
		case "scp":
			c.Scp, err = scopes(v)
		case "scope":
			c.Scope, err = scopes(v)
		case "roles":
			c.Roles, err = v.strings()
		case "xms_par_app_azp":
			c.Parent, err = v.text()
		case "xms_act_fct":
			c.ActFct, err = facets(v)
		case "xms_sub_fct":
			c.SubFct, err = facets(v)
		case "act":
			c.Act, err = actChain(v)
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// has reports whether the claim name is present (and not empty) among
// the typed claims; known is false for a name that is not typed here.
func (c *claims) has(name string) (present, known bool) {
	switch name {
	case "iss":
		return c.Iss != "", true
	case "sub":
		return c.Sub != "", true
	case "aud":
		return len(c.Aud) > 0, true
	case "exp":
		return c.Exp.set, true
	case "nbf":
		return c.Nbf.set, true
	case "iat":
		return c.Iat.set, true
	case "jti":
		return c.Jti != "", true
	case "azp":
		return c.Azp != "", true
	case "appid":
		return c.AppID != "", true
	case "client_id":
		return c.ClientID != "", true
	case "idtyp":
		return c.Idtyp != "", true
	case "oid":
		return c.Oid != "", true
	case "tid":
		return c.Tid != "", true
	case "scp":
		return len(c.Scp) > 0, true
	case "scope":
		return len(c.Scope) > 0, true
	case "roles":
		return len(c.Roles) > 0, true
	case "act":
		return len(c.Act) > 0, true
	}
	return false, false
}

// isNull reports whether data is the JSON literal null.
func isNull(data string) bool { return strings.TrimSpace(data) == "null" }

// numericDate is a NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional. A null or absent value is unset.
type numericDate struct {
	sec  int64
	nsec int64
	set  bool
}

// micros returns d in microseconds since the epoch.
func (d numericDate) micros() int64 { return d.sec*1e6 + d.nsec/1e3 }

// scopes decodes a scope claim: a space-separated string (RFC 8693 §4.2,
// RFC 9068 §2.2.3, Entra's scp) or an array of strings, without
// duplicates.
func scopes(v jsonValue) ([]string, error) {
	words, err := v.strings()
	if err != nil {
		return nil, err
	}
	if v.kind == kindString && len(words) == 1 && !strings.ContainsAny(words[0], " \t\n\r\f\v") {
		return words, nil
	}
	var out []string
	for _, s := range words {
		for f := range strings.FieldsSeq(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// facets decodes an Entra facet claim (xms_act_fct, xms_sub_fct): an
// unordered set of small integers, sent as a space-separated string such
// as "3 11" (or, from other issuers, as an array of numbers or strings),
// returned sorted, without duplicates.
func facets(v jsonValue) ([]int, error) {
	var words []string
	switch v.kind {
	case kindNull:
		return nil, nil
	case kindString:
		s, err := v.text()
		if err != nil {
			return nil, err
		}
		words = strings.Fields(s)
	case kindArray:
		err := eachElement(v, func(e jsonValue) error {
			switch e.kind {
			case kindNumber:
				words = append(words, e.raw)
			case kindString:
				s, err := e.text()
				words = append(words, s)
				return err
			default:
				return errNotFacets
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, errNotFacets
	}
	if len(words) == 0 {
		return nil, nil
	}
	out := make([]int, 0, len(words))
	for _, w := range words {
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 || n > maxFacet {
			return nil, errNotFacets
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Actor is one actor of an RFC 8693 delegation chain (the act claim,
// RFC 8693 §4.1): the party acting on behalf of the token's subject, or
// of the actor after it in the chain.
type Actor struct {
	// Subject is the actor's sub: for an agent, usually its application
	// or service principal id.
	Subject string
	// Issuer is the actor's iss, when the act claim names one.
	Issuer string
	// ClientID is the actor's client_id, when the act claim names one.
	ClientID string
}

// actChain decodes the act claim (RFC 8693 §4.1), flattened outermost
// first: [0] is the current actor, [1] the one it acted for, and so on.
func actChain(v jsonValue) ([]Actor, error) {
	if v.kind == kindNull {
		return nil, nil
	}
	return parseActChain(v.raw)
}

// parseActChain flattens an act claim (a JSON object, possibly with a
// nested act, or null) into its actors, outermost first. A chain deeper
// than MaxDelegationDepth, a level that is not an object, or an actor
// claim (sub, iss, client_id) that is not a string is an error.
func parseActChain(data string) ([]Actor, error) {
	var chain []Actor
	for {
		next := jsonValue{kind: kindNull}
		var a Actor
		err := eachMember(data, func(name string, v jsonValue) error {
			var err error
			switch name {
			case "sub":
				a.Subject, err = v.text()
			case "iss":
				a.Issuer, err = v.text()
			case "client_id":
				a.ClientID, err = v.text()
			case "act":
				if v.kind != kindObject && v.kind != kindNull {
					return errNotActObject
				}
				next = v
			}
			return err
		})
		if err != nil {
			if isNull(data) && len(chain) == 0 {
				return nil, nil
			}
			return nil, fmt.Errorf("act: %w", err)
		}
		if len(chain) == MaxDelegationDepth {
			return nil, errActChainDepth
		}
		chain = append(chain, a)
		if next.kind == kindNull {
			return chain, nil
		}
		data = next.raw
	}
}

// header is the protected header of a compact JWS, as much of it as the
// Verifier reads. The flags tell members that must be absent.
type header struct {
	Alg, Kid, Typ, Cty  string
	Crit, B64, Enc, Zip bool
}

// decodeHeader decodes a protected header: a JSON object whose alg, kid,
// typ and cty, if present, are strings.
func decodeHeader(data string) (*header, error) {
	h := new(header)
	err := eachMember(data, func(name string, v jsonValue) error {
		var err error
		switch name {
		case "alg":
			h.Alg, err = v.text()
		case "kid":
			h.Kid, err = v.text()
		case "typ":
			h.Typ, err = v.text()
		case "cty":
			h.Cty, err = v.text()
		case "crit":
			h.Crit = true
		case "b64":
			h.B64 = true
		case "enc":
			h.Enc = true
		case "zip":
			h.Zip = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}
