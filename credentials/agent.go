package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// AgentIdentity is a Microsoft Entra agent identity: an application
// created from an agent identity blueprint, that gets tokens through the
// blueprint's credential (DESIGN §3.2 item 4).
//
// As a [Source] it gives the agent's own, autonomous tokens, in two legs:
// the blueprint's client gets an exchange token for the agent (T1:
// client_credentials for "api://AzureADTokenExchange/.default" with
// fmi_path set to the agent's id), then the agent presents T1 as its
// client assertion. T1 is cached by the blueprint's client per tenant and
// agent, and refreshed in the background before the tokens derived from
// it need it. A single-instance agent (whose id is the blueprint's own)
// skips the first leg.
//
// [AgentIdentity.OnBehalfOf] acts for a user who called the agent, and
// [AgentIdentity.AgentUser] acts as the agent's own user account.
//
// An AgentIdentity is safe for concurrent use. Close it when done; its
// blueprint's client is the caller's to close.
type AgentIdentity struct {
	c         *Client // the agent as a client: its credential is T1
	blueprint *Client
	users     *partition // agent-user tokens, keyed by "oid:…" or "upn:…"
	// ownsBlueprint is set when the agent made its blueprint's client
	// (AgentFromEnvironment) and so closes it.
	ownsBlueprint bool
}

var (
	_ Source      = (*AgentIdentity)(nil)
	_ Invalidator = (*AgentIdentity)(nil)
)

// NewAgentIdentity returns the agent identity agentID of the blueprint
// whose client is blueprint. The options configure the agent's own caches
// (skew, cache sizes, retry, dialect…); the blueprint's client keeps its
// own. It makes no network call.
func NewAgentIdentity(blueprint *Client, agentID string, opts ...Option) (*AgentIdentity, error) {
	if blueprint == nil {
		return nil, errors.New("credentials: NewAgentIdentity: nil blueprint client")
	}
	if agentID == "" {
		return nil, errors.New("credentials: NewAgentIdentity: empty agent id")
	}
	cfg, err := newConfig(append([]Option{inheritTransport(blueprint.cfg)}, opts...))
	if err != nil {
		return nil, err
	}
	var cred ClientCredential = &fmiCredential{redactedCredential: redactedCredential{"AgentIdentity"}, blueprint: blueprint, agentID: agentID}
	if agentID == blueprint.clientID {
		cred = blueprint.cred // single-instance agent: no exchange leg
	}
	bp := blueprint.clientID
	a := &AgentIdentity{
		c:         newClient(blueprint.authority, agentID, cred, cfg, []string{bp, "api://" + bp}),
		blueprint: blueprint,
	}
	a.users = newPartition(blueprint.authority.id()+" agent "+agentID+" user_fic", cfg, cfg.userCacheSize, a.c.life, a.fetchUser).instrument("agent_user", agentID)
	return a, nil
}

// inheritTransport gives an agent the HTTP settings of its blueprint's
// client unless its own options say otherwise.
func inheritTransport(bp *config) Option {
	return optionFunc(func(c *config) {
		c.hc, c.insecure, c.clock, c.logger, c.tracerProvider = bp.hc, bp.insecure, bp.clock, bp.logger, bp.tracerProvider
	})
}

// AgentID returns the agent identity's application id.
func (a *AgentIdentity) AgentID() string { return a.c.clientID }

// BlueprintID returns the application id of the agent's blueprint.
func (a *AgentIdentity) BlueprintID() string { return a.blueprint.clientID }

// Token returns an autonomous token of the agent for req. See [Source].
func (a *AgentIdentity) Token(ctx context.Context, req Request) (*Token, error) {
	return a.c.cache.get(ctx, &req, &noSubject, "")
}

// Invalidate implements [Invalidator] for the agent's autonomous tokens.
func (a *AgentIdentity) Invalidate(req Request, tok *Token) { a.c.Invalidate(req, tok) }

// OnBehalfOf returns a [Source] of tokens for the user whose access token
// (issued to the agent's blueprint) is userToken. See
// [Client.OnBehalfOf]; at Entra the request is made by the agent with its
// exchange token as client assertion.
func (a *AgentIdentity) OnBehalfOf(userToken string) *OnBehalfOf { return a.c.OnBehalfOf(userToken) }

// Close stops the agent's background refreshes and waits for them. Its
// sources return [ErrClosed] afterwards. Close is idempotent and always
// returns nil.
func (a *AgentIdentity) Close() error {
	a.c.Close()
	if a.ownsBlueprint {
		a.blueprint.Close()
	}
	return nil
}

// String describes the agent identity.
func (a *AgentIdentity) String() string {
	return fmt.Sprintf("credentials.AgentIdentity{AgentID: %s, BlueprintID: %s}", a.AgentID(), a.BlueprintID())
}

// Format prints String for every verb.
func (a *AgentIdentity) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// fmiCredential authenticates an agent identity with its blueprint's
// exchange token (T1) for it.
type fmiCredential struct {
	redactedCredential
	blueprint *Client
	agentID   string
}

func (f *fmiCredential) validate() error { return nil }

func (f *fmiCredential) authenticate(ctx context.Context, a *authRequest) error {
	t1, err := f.blueprint.exchangeToken(ctx, a.tenant, f.agentID)
	if err != nil {
		return fmt.Errorf("credentials: agent identity %s: getting its blueprint's exchange token: %w", f.agentID, err)
	}
	a.form.Set("client_id", a.clientID)
	a.form.Set("client_assertion_type", clientAssertionType)
	a.form.Set("client_assertion", t1.AccessToken())
	return nil
}

// exchangeToken returns the blueprint's exchange token (T1) for agentID in
// tenant, from its cache when valid.
func (c *Client) exchangeToken(ctx context.Context, tenant, agentID string) (*Token, error) {
	md, err := c.authority.resolve(ctx, c.res, tenant)
	if err != nil {
		return nil, err
	}
	if md.exchangeAudience == "" {
		return nil, fmt.Errorf("%w: agent identities need an Entra authority", ErrInvalidRequest)
	}
	req := Request{Scopes: []string{md.exchangeAudience + "/.default"}, TenantID: tenant}
	subj := subjectOf(agentID)
	return c.fmi.get(ctx, &req, &subj, agentID)
}

// fetchFMI is leg 1: client_credentials by the blueprint for the exchange
// audience with fmi_path naming the agent.
func (c *Client) fetchFMI(ctx context.Context, k *cacheKey, _ *tokenState, agentID string) (*tokenState, error) {
	md, err := c.authority.resolve(ctx, c.res, k.tenant)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {strings.Join(k.scopes, " ")},
		"fmi_path":   {agentID},
	}
	return c.exchange(ctx, c.fmi, md, k.tenant, form, k.scopes, c.cred, c.clientID)
}
