package agentidtest

import "slices"

// fmiExchange answers leg 1 of the Entra agent identity flow: a client
// credentials request of blueprint c with fmi_path={agentID} and scope
// api://AzureADTokenExchange/.default gets the agent's exchange token
// (T1), which the agent then presents as its client assertion (leg 2).
// Refused, in this order:
//
//   - an empty fmi_path: invalid_request, AADSTS90023;
//   - a client that is not a blueprint: unauthorized_client, AADSTS82001;
//   - a resource parameter, or a scope other than
//     api://AzureADTokenExchange/.default: invalid_request, AADSTS90023;
//   - an fmi_path that names no agent identity: unauthorized_client,
//     AADSTS700016;
//   - an agent identity of another blueprint: unauthorized_client,
//     AADSTS82001;
//   - a blocked agent or one denied by policy ([Authority.BlockAgent],
//     [Authority.DenyAgentByPolicy]).
func (a *Authority) fmiExchange(req *grantRequest, c *client, acr string) (*tokenResponse, *tokenError) {
	path := req.form.Get("fmi_path")
	if path == "" {
		return nil, invalidRequest(codeInvalidRequest, "The 'fmi_path' parameter must not be empty.")
	}
	if !a.isBlueprint(c.id) {
		return nil, unauthorizedClient(codeAgentRefused,
			"Application '%s' is not an agent identity blueprint: it cannot request a token with 'fmi_path'.", c.id)
	}
	if req.form.Has("resource") || req.form.Get("scope") != tokenExchangeAudience+defaultScopeSuffix {
		return nil, invalidRequest(codeInvalidRequest,
			"A request with 'fmi_path' must have scope '%s%s' and no resource.", tokenExchangeAudience, defaultScopeSuffix)
	}
	ag := a.lookupAgent(path)
	if ag == nil {
		return nil, unauthorizedClient(codeUnknownClient,
			"Agent identity '%s' named by 'fmi_path' was not found in the directory '%s'.", path, req.tenant)
	}
	if ag.blueprint != c.id {
		return nil, unauthorizedClient(codeAgentRefused,
			"Agent identity '%s' is not a child of blueprint '%s'.", ag.id, c.id)
	}
	if te := a.agentGate(ag.id); te != nil {
		return nil, te
	}
	return a.issue(a.fmiClaims(req, c, acr, ag))
}

// authenticateAgent authenticates the agent identity ag by its client
// assertion, which must be the exchange token (T1) its blueprint got for
// it with fmi_path (leg 1). This is how Entra checks it, with the codes of
// a federated identity credential whose issuer is the blueprint:
//
//   - it is a token of this server: a JWS signed by a key in the JWKS,
//     with iss the issuer of the request's tenant (else AADSTS700027 or
//     AADSTS700211);
//   - exp is in the future and nbf not (else AADSTS700024);
//   - aud is api://AzureADTokenExchange (else AADSTS700212);
//   - fmi_path is the agent's id, and azp the agent's blueprint (else
//     AADSTS700213), so that only the agent's parent can stand for it.
//
// A T1 may be used any number of times until it expires: its jti is not
// recorded. The agent authenticates with acr "2" (an assertion).
func (a *Authority) authenticateAgent(req *grantRequest, ag *agent, assertion string) (*client, *tokenError) {
	cl, p := a.verifyOwn(assertion, req.tenant, req.now)
	if p != nil {
		return nil, p.clientError()
	}
	if !slices.Contains(cl.Audience, tokenExchangeAudience) {
		return nil, invalidClient(false, codeFICAudience,
			"The client assertion of agent '%s' must have audience '%s'.", ag.id, tokenExchangeAudience)
	}
	if cl.FMIPath != ag.id {
		return nil, invalidClient(false, codeFICSubject,
			"The client assertion was issued for fmi_path '%s', not for agent '%s'.", cl.FMIPath, ag.id)
	}
	if cl.AppID != ag.blueprint {
		return nil, invalidClient(false, codeFICSubject,
			"The client assertion was issued to application '%s', which is not the blueprint of agent '%s'.", cl.AppID, ag.id)
	}
	return ag.asClient(), nil
}
