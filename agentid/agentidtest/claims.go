package agentidtest

import (
	"crypto/rand"
	"slices"
	"strings"
	"time"
)

// Entra facet values of xms_act_fct (the facets of the actor) and
// xms_sub_fct (those of the subject). Each claim is a space-separated set
// of such integers, in no particular order.
const (
	facetAgentIdentity = "11" // an agent identity
	facetAgentUser     = "13" // an agent user
)

// baseClaims returns the claims every access token of the server has: iss
// and tid of tenant, aud, iat and nbf now, exp after the configured
// lifetime, a random jti and ver "2.0".
func (a *Authority) baseClaims(tenant string, now time.Time, aud string) map[string]any {
	return map[string]any{
		"iss": a.IssuerFor(tenant),
		"aud": aud,
		"tid": tenant,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(a.cfg.lifetime).Unix(),
		"jti": rand.Text(),
		"ver": "2.0",
	}
}

// appClaims returns the claims of an app token of client c for aud: the
// base claims, sub and oid the client's object id, azp and appid its id,
// azpacr how it authenticated, idtyp "app", and roles when it has app
// roles on aud.
func (a *Authority) appClaims(req *grantRequest, c *client, acr, aud string) map[string]any {
	claims := a.baseClaims(req.tenant, req.now, aud)
	claims["sub"] = c.objectID
	claims["oid"] = c.objectID
	claims["azp"] = c.id
	claims["appid"] = c.id
	claims["azpacr"] = acr
	claims["idtyp"] = "app"
	if roles := c.roles[aud]; len(roles) > 0 {
		claims["roles"] = slices.Clone(roles)
	}
	return claims
}

// fmiClaims returns the claims of the exchange token (T1) blueprint c gets
// for agent ag: those of c's app token for the token exchange audience,
// with sub an FMI path naming the tenant, the blueprint and the agent, and
// fmi_path the agent's id.
func (a *Authority) fmiClaims(req *grantRequest, c *client, acr string, ag *agent) map[string]any {
	claims := a.appClaims(req, c, acr, tokenExchangeAudience)
	claims["sub"] = "/eid1/c/pub/t/" + req.tenant + "/a/" + c.id + "/" + ag.id
	claims["fmi_path"] = ag.id
	return claims
}

// agentAppClaims returns the claims of an autonomous agent token of ag for
// aud (which is also its own exchange token, T2, when aud is the token
// exchange audience): those of an app token with the agent's object id,
// app id and roles, plus xms_par_app_azp the blueprint and the agent
// identity facet as both actor and subject.
func (a *Authority) agentAppClaims(req *grantRequest, ag *agent, acr, aud string) map[string]any {
	claims := a.appClaims(req, ag.asClient(), acr, aud)
	claims["xms_par_app_azp"] = ag.blueprint
	claims["xms_act_fct"] = facetAgentIdentity
	claims["xms_sub_fct"] = facetAgentIdentity
	return claims
}

// delegatedClaims returns the claims of a token that client c, acting as
// agent ag (nil for a client that is no agent), gets for user u and
// scopes ds: the base claims for ds's resource, idtyp "user", sub and oid
// the user's object id, upn, scp, azp and appid the client's id, azpacr
// and xms_idrel "1". An agent adds xms_par_app_azp and the agent identity
// facet as actor; an agent user as subject adds the agent user facet as
// xms_sub_fct.
func (a *Authority) delegatedClaims(req *grantRequest, c *client, ag *agent, acr string, u *user, ds delegatedScopes) map[string]any {
	claims := a.baseClaims(req.tenant, req.now, ds.resource)
	claims["idtyp"] = "user"
	claims["sub"] = u.objectID
	claims["oid"] = u.objectID
	claims["upn"] = u.upn
	claims["scp"] = strings.Join(ds.perms, " ")
	claims["azp"] = c.id
	claims["appid"] = c.id
	claims["azpacr"] = acr
	claims["xms_idrel"] = "1"
	if ag != nil {
		claims["xms_par_app_azp"] = ag.blueprint
		claims["xms_act_fct"] = facetAgentIdentity
	}
	if u.agent != "" {
		claims["xms_sub_fct"] = facetAgentUser
	}
	return claims
}

// idTokenClaims returns the claims of the ID token (OpenID Connect Core
// §2) client clientID gets for user u: iss, aud the client, sub and oid
// the user's object id, upn and preferred_username, tid, iat and exp.
func (a *Authority) idTokenClaims(req *grantRequest, clientID string, u *user) map[string]any {
	return map[string]any{
		"iss":                a.IssuerFor(req.tenant),
		"aud":                clientID,
		"sub":                u.objectID,
		"oid":                u.objectID,
		"upn":                u.upn,
		"preferred_username": u.upn,
		"tid":                req.tenant,
		"iat":                req.now.Unix(),
		"exp":                req.now.Add(a.cfg.lifetime).Unix(),
	}
}

// userTokenClaims returns the claims of a token minted by UserToken: the
// base claims of the default tenant for aud, idtyp "user", sub and oid,
// upn, scp when scopes are given, and azp some client.
func (a *Authority) userTokenClaims(u *user, aud string, scopes []string) map[string]any {
	claims := a.baseClaims(a.cfg.tenantID, a.cfg.now(), aud)
	claims["idtyp"] = "user"
	claims["sub"] = u.objectID
	claims["oid"] = u.objectID
	claims["upn"] = u.upn
	claims["azp"] = userTokenClient
	if len(scopes) > 0 {
		claims["scp"] = strings.Join(scopes, " ")
	}
	return claims
}

// exchangeClaims returns the claims of a token issued by RFC 8693 token
// exchange to client c: the base claims for aud, sub the subject token's
// sub and its oid, upn and idtyp when present, scope and scp when scope is
// not empty, client_id the client, and act naming the current actor with
// the subject token's own act, if any, nested in it (RFC 8693 §4.1).
func (a *Authority) exchangeClaims(req *grantRequest, c *client, subject *ownClaims, actor, aud, scope string) map[string]any {
	claims := a.baseClaims(req.tenant, req.now, aud)
	claims["sub"] = subject.Subject
	for name, v := range map[string]string{"oid": subject.ObjectID, "upn": subject.UPN, "idtyp": subject.IDType} {
		if v != "" {
			claims[name] = v
		}
	}
	if scope != "" {
		claims["scope"] = scope
		claims["scp"] = scope
	}
	claims["client_id"] = c.id
	act := map[string]any{"sub": actor}
	if subject.Act != nil {
		act["act"] = subject.Act
	}
	claims["act"] = act
	return claims
}
