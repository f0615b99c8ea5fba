package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Peeked holds the few claims a client reads from a token it does not
// verify: a user assertion it is about to exchange, or an access token
// whose response carried no expires_in. Nothing read here is trusted for
// authorization; the authorization server checks the token.
type Peeked struct {
	Issuer   string
	Subject  string
	Audience []string
	Expiry   int64 // seconds since the epoch; 0 when absent
	ObjectID string
	TenantID string
	IDType   string
	AppID    string // azp, else appid
	UserName string // upn, else preferred_username
	// MayAct is the RFC 8693 §4.4 may_act claim, nil when absent.
	MayAct *MayAct
}

// MayAct names who may act for the subject of a token.
type MayAct struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
}

// maxPeekBytes bounds the token Peek reads.
const maxPeekBytes = 64 << 10

var errNotJWT = errors.New("oauth: not a compact JWT")

type peekClaims struct {
	Iss    string          `json:"iss"`
	Sub    string          `json:"sub"`
	Aud    json.RawMessage `json:"aud"`
	Exp    json.Number     `json:"exp"`
	Oid    string          `json:"oid"`
	Tid    string          `json:"tid"`
	Idtyp  string          `json:"idtyp"`
	Azp    string          `json:"azp"`
	Appid  string          `json:"appid"`
	Upn    string          `json:"upn"`
	Pref   string          `json:"preferred_username"`
	MayAct *MayAct         `json:"may_act"`
}

// Peek decodes the claims of a compact JWS without verifying it. It
// fails on anything that is not three base64url segments with a JSON
// object in the middle, or on a claim of the wrong type.
func Peek(token string) (*Peeked, error) {
	if len(token) > maxPeekBytes {
		return nil, errors.New("oauth: token larger than 64 KiB")
	}
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first <= 0 || last == first || last == len(token)-1 || strings.Count(token, ".") != 2 {
		return nil, errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(token[first+1 : last])
	if err != nil {
		return nil, errNotJWT
	}
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || payload[0] != '{' {
		return nil, errNotJWT
	}
	var c peekClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("oauth: token claims are not valid JSON of the expected types")
	}
	p := &Peeked{
		Issuer: c.Iss, Subject: c.Sub, ObjectID: c.Oid, TenantID: c.Tid, IDType: c.Idtyp,
		AppID: c.Azp, UserName: c.Upn, MayAct: c.MayAct,
	}
	if p.AppID == "" {
		p.AppID = c.Appid
	}
	if p.UserName == "" {
		p.UserName = c.Pref
	}
	if c.Exp != "" {
		f, err := c.Exp.Float64()
		if err != nil || f < 0 || f > 1e11 {
			return nil, errors.New("oauth: token exp is not a valid time")
		}
		p.Expiry = int64(f)
	}
	if len(c.Aud) > 0 && string(c.Aud) != "null" {
		var one string
		if json.Unmarshal(c.Aud, &one) == nil {
			p.Audience = []string{one}
		} else if json.Unmarshal(c.Aud, &p.Audience) != nil {
			return nil, errors.New("oauth: token aud is neither a string nor an array of strings")
		}
	}
	return p, nil
}
