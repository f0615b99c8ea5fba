package agentidtest

import (
	"encoding/base64"
	"encoding/json"
	"slices"
)

// grantUserFIC is the grant_type with which an agent identity gets tokens
// as its agent user, presenting its own exchange token (T2) as the user's
// federated identity credential.
const grantUserFIC = "user_fic"

// userFIC answers an agent user request: an agent identity, authenticated
// by its blueprint's exchange token (T1) or, single-instance, by its own
// credential, presents its own exchange token (T2) as
// user_federated_identity_credential and names its agent user by user_id
// (object id) or username (UPN). Refused:
//
//   - a client that is no agent identity: unauthorized_client,
//     AADSTS82001;
//   - requested_token_use present, both user_id and username
//     (AADSTS90023), neither, or no user_federated_identity_credential
//     (AADSTS900144): invalid_request;
//   - bad scopes: invalid_scope (see parseDelegatedScopes);
//   - a credential that is not a token of this server for the request's
//     tenant (AADSTS50013), is expired or not yet valid (AADSTS500133),
//     does not have aud api://AzureADTokenExchange (AADSTS700212), or is
//     not the agent's own token, azp and sub the agent (AADSTS700213):
//     invalid_grant;
//   - a user that does not exist (AADSTS50034) or is not this agent's
//     agent user (AADSTS82001): invalid_grant.
//
// The answer holds the agent user token, and, as OpenID Connect and Entra
// do: an id_token when openid was requested, a refresh_token when
// offline_access was, and client_info when client_info=1 was sent.
func (a *Authority) userFIC(req *grantRequest) (*tokenResponse, *tokenError) {
	c, acr, te := a.authenticate(req)
	if te != nil {
		return nil, te
	}
	ag := a.agentOf(c)
	if ag == nil {
		return nil, unauthorizedClient(codeAgentRefused,
			"Only an agent identity can use the user_fic grant; '%s' is not one.", c.id)
	}
	f := req.form
	userID, username := f.Get("user_id"), f.Get("username")
	switch {
	case f.Has("requested_token_use"):
		return nil, invalidRequest(codeInvalidRequest, "The user_fic grant does not take 'requested_token_use'.")
	case userID != "" && username != "":
		return nil, invalidRequest(codeInvalidRequest, "The request must name the user by 'user_id' or 'username', not both.")
	case userID == "" && username == "":
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'user_id' or 'username'.")
	}
	fic := f.Get("user_federated_identity_credential")
	if fic == "" {
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'user_federated_identity_credential'.")
	}
	ds, te := parseDelegatedScopes(f.Get("scope"))
	if te != nil {
		return nil, te
	}

	cl, p := a.verifyOwn(fic, req.tenant, req.now)
	if p != nil {
		return nil, p.grantError("user federated identity credential")
	}
	if !slices.Contains(cl.Audience, tokenExchangeAudience) {
		return nil, invalidGrant(codeFICAudience,
			"The user federated identity credential must have audience '%s'.", tokenExchangeAudience)
	}
	if cl.AppID != ag.id || cl.Subject != ag.objectID {
		return nil, invalidGrant(codeFICSubject,
			"The user federated identity credential is not the own token of agent '%s': it was issued to '%s'.", ag.id, cl.AppID)
	}
	u, name := a.lookupUser(userID), userID
	if username != "" {
		u, name = a.lookupUserByUPN(username), username
	}
	if u == nil {
		return nil, invalidGrant(codeUserNotFound,
			"The user account '%s' does not exist in the directory '%s'.", name, req.tenant)
	}
	if u.agent != ag.id {
		return nil, invalidGrant(codeAgentRefused, "User '%s' is not the agent user of agent '%s'.", name, ag.id)
	}
	return a.issueUserTokens(req, c, ag, acr, u, ds)
}

// issueUserTokens answers a request of agent ag (client c) for user u with
// scopes ds: the delegated access token, and the ID token, refresh token
// and client_info the request asks for.
func (a *Authority) issueUserTokens(req *grantRequest, c *client, ag *agent, acr string, u *user, ds delegatedScopes) (*tokenResponse, *tokenError) {
	resp, te := a.issue(a.delegatedClaims(req, c, ag, acr, u, ds))
	if te != nil {
		return nil, te
	}
	resp.Scope = ds.granted()
	if ds.has(scopeOpenID) {
		if resp.IDToken, te = a.signToken(a.idTokenClaims(req, c.id, u)); te != nil {
			return nil, te
		}
	}
	if ds.has(scopeOfflineAccess) {
		resp.RefreshToken = a.refresh.issue(&refreshGrant{
			clientID: c.id,
			tenant:   req.tenant,
			userOID:  u.objectID,
			scopes:   ds,
			expires:  req.now.Add(refreshLifetime),
		}, req.now)
	}
	if req.form.Get("client_info") == "1" {
		resp.ClientInfo = clientInfo(u.objectID, req.tenant)
	}
	return resp, nil
}

// clientInfo returns Entra's client_info: the base64url (unpadded)
// encoding of {"uid":"<user oid>","utid":"<tenant>"}.
func clientInfo(oid, tenant string) string {
	doc, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{oid, tenant}) // cannot fail: two strings
	return base64.RawURLEncoding.EncodeToString(doc)
}
