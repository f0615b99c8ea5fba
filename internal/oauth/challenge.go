package oauth

import (
	"fmt"
	"strings"
)

// Challenge is one authentication challenge of a WWW-Authenticate header
// (RFC 7235 §4.1), such as the Bearer challenge of RFC 6750 §3.
type Challenge struct {
	// Scheme is the auth-scheme as sent; compare it case-insensitively.
	Scheme string
	// Params holds the auth-params, names lower-cased, quoted values
	// unquoted. When a name repeats, the first value is kept.
	Params map[string]string
	// Token68 is the token68 form of credentials, when sent instead of
	// params.
	Token68 string
}

// maxChallengeHeader bounds the header text ParseChallenges reads.
const maxChallengeHeader = 16 << 10

// ParseChallenges parses the value of a WWW-Authenticate header, which may
// hold several challenges. Its error names the offset of the first byte it
// could not read.
func ParseChallenges(h string) ([]Challenge, error) {
	if len(h) > maxChallengeHeader {
		return nil, fmt.Errorf("oauth: WWW-Authenticate header longer than %d bytes", maxChallengeHeader)
	}
	p := &challengeParser{s: h}
	var out []Challenge
	for {
		p.skipListSeparators()
		if p.done() {
			return out, nil
		}
		c, err := p.challenge()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) done() bool { return p.i >= len(p.s) }

func (p *challengeParser) skipSpaces() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *challengeParser) skipListSeparators() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *challengeParser) errorf(what string) error {
	return fmt.Errorf("oauth: WWW-Authenticate: %s at offset %d", what, p.i)
}

func (p *challengeParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *challengeParser) challenge() (Challenge, error) {
	scheme := p.token()
	if scheme == "" {
		return Challenge{}, p.errorf("expected an auth-scheme")
	}
	c := Challenge{Scheme: scheme}
	if p.done() || p.s[p.i] == ',' {
		return c, nil
	}
	if p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		return Challenge{}, p.errorf("expected a space after the auth-scheme")
	}
	p.skipSpaces()
	if p.done() || p.s[p.i] == ',' {
		return c, nil
	}
	if name, value, ok, err := p.param(); err != nil {
		return Challenge{}, err
	} else if !ok {
		t68, err := p.token68()
		if err != nil {
			return Challenge{}, err
		}
		c.Token68 = t68
		return c, nil
	} else {
		c.Params = map[string]string{name: value}
	}
	for {
		p.skipSpaces()
		if p.done() {
			return c, nil
		}
		if p.s[p.i] != ',' {
			return Challenge{}, p.errorf("expected ',' between auth-params")
		}
		save := p.i
		p.skipListSeparators()
		if p.done() {
			return c, nil
		}
		name, value, ok, err := p.param()
		if err != nil {
			return Challenge{}, err
		}
		if !ok {
			// The next list element is a new challenge.
			p.i = save
			return c, nil
		}
		if _, dup := c.Params[name]; !dup {
			c.Params[name] = value
		}
	}
}

// param reads `token BWS "=" BWS ( token / quoted-string )`. It reports
// ok=false, leaving the position unchanged, when the text there is not an
// auth-param (it is a token68 or the next challenge).
func (p *challengeParser) param() (name, value string, ok bool, err error) {
	start := p.i
	name = p.token()
	if name == "" {
		p.i = start
		return "", "", false, nil
	}
	p.skipSpaces()
	if p.done() || p.s[p.i] != '=' {
		p.i = start
		return "", "", false, nil
	}
	p.i++
	p.skipSpaces()
	if p.done() || p.s[p.i] == '=' || p.s[p.i] == ',' {
		// "abc=" or "abc==": a token68 with padding, not a param.
		p.i = start
		return "", "", false, nil
	}
	if p.s[p.i] == '"' {
		value, err = p.quoted()
		if err != nil {
			return "", "", false, err
		}
	} else {
		value = p.token()
		if value == "" {
			return "", "", false, p.errorf("expected a token or quoted-string")
		}
	}
	return strings.ToLower(name), value, true, nil
}

func (p *challengeParser) quoted() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		ch := p.s[p.i]
		switch {
		case ch == '"':
			p.i++
			return b.String(), nil
		case ch == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errorf("unterminated quoted-pair")
			}
			if c := p.s[p.i+1]; c < 0x20 && c != '\t' || c == 0x7f {
				// RFC 9110 §5.6.4: a quoted-pair escapes HTAB, SP,
				// VCHAR or obs-text only.
				p.i++
				return "", p.errorf("control character in quoted-pair")
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case ch < 0x20 && ch != '\t' || ch == 0x7f:
			return "", p.errorf("control character in quoted-string")
		default:
			b.WriteByte(ch)
			p.i++
		}
	}
	return "", p.errorf("unterminated quoted-string")
}

func (p *challengeParser) token68() (string, error) {
	start := p.i
	for p.i < len(p.s) && isToken68Char(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", p.errorf("expected auth-params or a token68")
	}
	for p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
	}
	end := p.i
	p.skipSpaces()
	if !p.done() && p.s[p.i] != ',' {
		return "", p.errorf("unexpected text after token68")
	}
	return p.s[start:end], nil
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken68Char(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}
