package audit_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/credentials"
	"github.com/agentpassport/passport/policy"
)

// TestEndToEndOnBehalfOfAUser follows one tool call that an agent makes
// for the user who called it: the agent's invocation, the policy
// decision, the token acquisition on behalf of the user and the tool
// call are spans; they reach the registry through the exporter, and what
// the registry decoded is compared with what was done: names, identity
// attributes and parent links. (The blueprint's exchange token was
// already cached by the exporter's own token request, and the blueprint's
// client is not traced here, so no span of it is expected.)
func TestEndToEndOnBehalfOfAUser(t *testing.T) {
	const (
		bp, agentApp, userOID = "b1b1b1b1-0000-4000-8000-000000000001", "a9a9a9a9-0000-4000-8000-000000000002", "0e0e0e0e-0000-4000-8000-000000000003"
		secret                = "e2e-secret"
	)
	ctx := context.Background()
	authority := agentidtest.NewAuthority(t, agentidtest.WithTenantID("contoso"))
	for _, err := range []error{
		authority.RegisterBlueprint(bp, agentidtest.WithSecret(secret)),
		authority.RegisterAgent(bp, agentApp),
		authority.RegisterUser(userOID, "ada@contoso.example"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	registry := agentidtest.NewRegistry(t)

	// The agent's credentials, also used for the exporter's own token.
	sec, _ := credentials.NewSecret(secret)
	entra := credentials.Entra(authority.TenantID(), credentials.WithAuthorityHost(authority.URL()))
	blueprint, err := credentials.NewClient(entra, bp, credentials.ClientSecret(sec))
	if err != nil {
		t.Fatal(err)
	}
	defer blueprint.Close()
	exporterAgent, err := credentials.NewAgentIdentity(blueprint, agentApp)
	if err != nil {
		t.Fatal(err)
	}
	defer exporterAgent.Close()
	exporter, err := audit.NewExporter(registry.URL(), audit.WithTokenSource(exporterAgent, credentials.Request{Scopes: []string{"api://registry/.default"}}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(ctx)

	agent, err := credentials.NewAgentIdentity(blueprint, agentApp, credentials.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	self := agentid.Identity{TenantID: authority.TenantID(), AgentID: agentApp, BlueprintID: bp, Name: "orders-agent", Kind: agentid.Delegated}
	recorder, err := audit.NewRecorder(self, audit.WithTracerProvider(tp), audit.WithRawUserIDs())
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(ctx, policy.FromString("tools.cedar", `
@id("refunds-for-users")
permit (principal, action == Action::"invoke_tool", resource == Tool::"refund");`), policy.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()

	// A user calls the agent: the agent verifies the user's token.
	userToken, err := authority.UserToken(userOID, bp, "access_as_user")
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := agentid.NewVerifier(ctx, authority.Issuer(), agentid.WithAudience(bp))
	if err != nil {
		t.Fatal(err)
	}
	defer verifier.Close()
	caller, err := verifier.Verify(ctx, userToken)
	if err != nil {
		t.Fatal(err)
	}
	ctx = agentid.NewContext(ctx, caller)

	// The agent's work for that user.
	ctx, invocation := recorder.StartInvocation(ctx)
	d, err := engine.Decide(ctx, policy.Request{Subject: policy.FromIdentity(self, &policy.User{ID: userOID}), Action: policy.InvokeTool, Resource: policy.Tool("refund")})
	if err != nil || !d.Allow {
		t.Fatalf("Decide() = %v, %v; want allow", d, err)
	}
	toolCtx, call := recorder.StartTool(ctx, "refund", audit.ToolCallID("call-1"))
	if _, err := agent.OnBehalfOf(userToken).Token(toolCtx, credentials.Request{Scopes: []string{"api://payments/.default"}}); err != nil {
		t.Fatal(err)
	}
	call.End(nil)
	invocation.End(nil)
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}

	// What the registry received.
	spans := registry.Spans()
	byID := map[string]agentidtest.ReceivedSpan{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	type node struct {
		Name, Parent string
		Attrs        map[string]string
	}
	keep := []string{"gen_ai.operation.name", "gen_ai.agent.id", "gen_ai.tool.name", "gen_ai.tool.call.id", "user.id",
		"microsoft.tenant.id", "microsoft.a365.agent.blueprint.id", "passport.agent.kind", "passport.token.flow",
		"passport.policy.decision", "passport.policy.ids"}
	var got []node
	for _, s := range spans {
		n := node{Name: s.Name, Attrs: map[string]string{}}
		if p, ok := byID[s.ParentSpanID]; ok {
			n.Parent = p.Name
		}
		for _, k := range keep {
			if v, ok := s.Attributes[k]; ok {
				n.Attrs[k] = fmt.Sprint(v)
			}
		}
		got = append(got, n)
		for k, v := range s.Attributes {
			if s := fmt.Sprint(v); strings.Contains(s, userToken) || strings.Contains(s, secret) {
				t.Errorf("span %q attribute %s carries a secret", n.Name, k)
			}
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	identity := map[string]string{"gen_ai.agent.id": agentApp, "microsoft.tenant.id": authority.TenantID(), "microsoft.a365.agent.blueprint.id": bp, "user.id": userOID, "passport.agent.kind": "delegated"}
	with := func(m map[string]string) map[string]string {
		for k, v := range identity {
			m[k] = v
		}
		return m
	}
	want := []node{
		{Name: "acquire_token on_behalf_of", Parent: "execute_tool refund", Attrs: map[string]string{"gen_ai.operation.name": "acquire_token", "gen_ai.agent.id": agentApp, "passport.token.flow": "on_behalf_of"}},
		{Name: "execute_tool refund", Parent: "invoke_agent orders-agent", Attrs: with(map[string]string{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "refund", "gen_ai.tool.call.id": "call-1"})},
		{Name: "invoke_agent orders-agent", Attrs: with(map[string]string{"gen_ai.operation.name": "invoke_agent"})},
		{Name: "policy_decision invoke_tool", Parent: "invoke_agent orders-agent", Attrs: map[string]string{"gen_ai.operation.name": "policy_decision", "passport.policy.decision": "allow", "passport.policy.ids": "[refunds-for-users]"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans at the registry mismatch (-want +got):\n%s", diff)
	}
	for _, r := range registry.Requests() {
		if !r.Authorization {
			t.Errorf("an export reached the registry without a bearer token: %+v", r)
		}
	}
}
