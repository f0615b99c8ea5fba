package agentidtest

import (
	"errors"
	"fmt"
	"slices"
)

// AgentOption configures an agent identity registered with
// [Authority.RegisterAgent]. The set of agent options is sealed: only this
// package can implement AgentOption.
type AgentOption interface {
	applyAgent(*agent)
}

type agentOptionFunc func(*agent)

func (f agentOptionFunc) applyAgent(ag *agent) { f(ag) }

// agent is a registered agent identity. It is immutable once registered.
type agent struct {
	id        string              // the agent's app (client) id
	blueprint string              // the app id of its blueprint
	objectID  string              // its service principal object id
	roles     map[string][]string // app roles by resource
}

// directory holds the agent identities and users of an Authority. Its
// fields are guarded by Authority.mu; maps are created on first write.
type directory struct {
	blueprints map[string]bool   // app ids of blueprints, each also a registered client
	agents     map[string]*agent // agent identities by app id
	users      map[string]*user  // users and agent users by object id
	upns       map[string]*user  // users and agent users by canonical UPN
	agentUsers map[string]*user  // agent users by the app id of their agent
	blocked    map[string]bool   // app ids of agents blocked with BlockAgent
	denied     map[string]bool   // app ids of agents denied with DenyAgentByPolicy
}

// addBlueprint marks the client id as a blueprint.
func (d *directory) addBlueprint(id string) {
	if d.blueprints == nil {
		d.blueprints = make(map[string]bool)
	}
	d.blueprints[id] = true
}

// WithAgentObjectID sets the object id of the agent identity's service
// principal, the "oid" and "sub" of its app tokens. The default is a
// random GUID.
func WithAgentObjectID(oid string) AgentOption {
	return agentOptionFunc(func(ag *agent) { ag.objectID = oid })
}

// WithAgentAppRoles grants app roles to the agent identity on resource
// (such as "api://orders"): they are put in the "roles" claim of its
// autonomous agent tokens for that resource. It may be given more than
// once; roles add up. By default an agent has no app roles; roles
// granted to its blueprint ([WithAppRoles]) are not inherited.
func WithAgentAppRoles(resource string, roles ...string) AgentOption {
	roles = slices.Clone(roles)
	return agentOptionFunc(func(ag *agent) {
		if ag.roles == nil {
			ag.roles = make(map[string][]string)
		}
		for _, r := range roles {
			if !slices.Contains(ag.roles[resource], r) {
				ag.roles[resource] = append(ag.roles[resource], r)
			}
		}
	})
}

// RegisterBlueprint registers an agent identity blueprint: a confidential
// client, registered as [Authority.RegisterClient] does and with the same
// options and errors, whose agent identities ([Authority.RegisterAgent])
// get tokens through it. With its own credential and fmi_path={agentID}
// in a client credentials request for api://AzureADTokenExchange/.default
// it gets an agent's exchange token (T1), which the agent then presents
// as its client assertion. It is safe for concurrent use.
func (a *Authority) RegisterBlueprint(blueprintID string, opts ...ClientOption) error {
	c, err := newClient(blueprintID, opts)
	if err != nil {
		return err
	}
	return a.addClient(c, true)
}

// RegisterAgent registers an agent identity, a child of the blueprint
// registered as blueprintID. agentID is the agent's app (client) id. The
// agent has no credential of its own: it authenticates with the exchange
// token (T1) its blueprint gets for it. When agentID equals blueprintID
// the agent is single-instance: the blueprint's own credential
// authenticates it directly, so a plain client credentials request of the
// blueprint yields agent tokens.
//
// RegisterAgent returns an error if either id is empty, if blueprintID is
// not a registered blueprint, if agentID is already an agent identity, or
// if agentID is already a registered client other than the blueprint
// itself. It is safe for concurrent use.
func (a *Authority) RegisterAgent(blueprintID, agentID string, opts ...AgentOption) error {
	ag := &agent{id: agentID, blueprint: blueprintID}
	for _, o := range opts {
		if o != nil {
			o.applyAgent(ag)
		}
	}
	if ag.objectID == "" {
		ag.objectID = newGUID()
	}
	var errs []error
	if blueprintID == "" {
		errs = append(errs, errors.New("agentidtest: empty blueprint id"))
	}
	if agentID == "" {
		errs = append(errs, errors.New("agentidtest: empty agent id"))
	}
	for resource := range ag.roles {
		if resource == "" {
			errs = append(errs, errors.New("agentidtest: WithAgentAppRoles: empty resource"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case !a.dir.blueprints[blueprintID]:
		return fmt.Errorf("agentidtest: %q is not a registered blueprint", blueprintID)
	case a.dir.agents[agentID] != nil:
		return fmt.Errorf("agentidtest: agent %q is already registered", agentID)
	case agentID != blueprintID && a.clients[agentID] != nil:
		return fmt.Errorf("agentidtest: %q is already registered as a client", agentID)
	}
	if a.dir.agents == nil {
		a.dir.agents = make(map[string]*agent)
	}
	a.dir.agents[agentID] = ag
	return nil
}

// BlockAgent disables the agent identity agentID, as an administrator
// disables an application: from then on every grant by the agent, for
// the agent (a blueprint's request for its exchange token) or with a
// token issued to it fails with 400 unauthorized_client and error code
// AADSTS7000112 ("Application is disabled"). Blocking a single-instance
// agent blocks its blueprint too, as they are one application. agentID
// need not be registered yet. A block cannot be lifted. It is safe for
// concurrent use.
func (a *Authority) BlockAgent(agentID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dir.blocked == nil {
		a.dir.blocked = make(map[string]bool)
	}
	a.dir.blocked[agentID] = true
}

// DenyAgentByPolicy makes a Conditional Access policy deny the agent
// identity agentID: from then on every grant by or for the agent, as for
// [Authority.BlockAgent], fails with 400 invalid_grant, error_codes
// [53003] and the description "AADSTS53003: Access has been blocked by
// Conditional Access policies. ...". A blocked agent gets the
// [Authority.BlockAgent] answer instead. agentID need not be registered
// yet. A denial cannot be lifted. It is safe for concurrent use.
func (a *Authority) DenyAgentByPolicy(agentID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dir.denied == nil {
		a.dir.denied = make(map[string]bool)
	}
	a.dir.denied[agentID] = true
}

// agentGate returns the answer for a grant by or for agentID if the agent
// is blocked or denied by policy, else nil.
func (a *Authority) agentGate(agentID string) *tokenError {
	a.mu.RLock()
	blocked, denied := a.dir.blocked[agentID], a.dir.denied[agentID]
	a.mu.RUnlock()
	switch {
	case blocked:
		return unauthorizedClient(codeAppDisabled, "Application '%s' is disabled.", agentID)
	case denied:
		return invalidGrant(codePolicyBlocked,
			"Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.")
	}
	return nil
}

// lookupAgent returns the agent identity with app id id, or nil.
func (a *Authority) lookupAgent(id string) *agent {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.dir.agents[id]
}

// isBlueprint reports whether the client id is a registered blueprint.
func (a *Authority) isBlueprint(id string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.dir.blueprints[id]
}

// agentOf returns the agent identity an authenticated client acts as: the
// agent authenticated by its blueprint's exchange token, or the
// single-instance agent of a blueprint authenticated by its own
// credential. It returns nil for any other client.
func (a *Authority) agentOf(c *client) *agent {
	if c.agent != nil {
		return c.agent
	}
	if ag := a.lookupAgent(c.id); ag != nil && ag.blueprint == c.id {
		return ag
	}
	return nil
}

// asClient returns the client that an agent authenticated by its
// blueprint's exchange token is.
func (ag *agent) asClient() *client {
	return &client{id: ag.id, objectID: ag.objectID, roles: ag.roles, agent: ag}
}

// gateToken refuses a token presented as a grant (an OBO user assertion,
// a token exchange subject or actor token) if it was issued to (azp) an
// agent that is blocked or denied by policy.
func (a *Authority) gateToken(cl *ownClaims) *tokenError {
	if cl.AppID == "" || a.lookupAgent(cl.AppID) == nil {
		return nil
	}
	return a.agentGate(cl.AppID)
}
