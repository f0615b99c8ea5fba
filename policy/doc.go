// Package policy decides, in process and in microseconds, whether an
// agent may do what it is about to do: call a tool, call an API, get a
// token, call another agent. The same policies run on the agent's side,
// before it acts, and on the resource's side, when a call arrives. The
// policy language is Cedar, evaluated by github.com/cedar-policy/cedar-go.
//
//	engine, err := policy.New(ctx, policy.FromFiles("policies/"),
//		policy.WithArgument("amount", policy.ArgLong),
//		policy.WithRateCounter("calls_per_minute", time.Minute),
//		policy.WithTotalCounter("spend", "amount"))
//	if err != nil {
//		return err // a *LoadError names the file, line and reason
//	}
//	defer engine.Close()
//
//	d, err := engine.Decide(ctx, policy.Request{
//		Subject:  policy.FromIdentity(self, nil),
//		Action:   policy.InvokeTool,
//		Resource: policy.Tool("refund"),
//		Args:     map[string]any{"amount": 120},
//	})
//	if err != nil || !d.Allow {
//		return fmt.Errorf("refund refused: %v", d)
//	}
//
// # Decisions
//
// A [Decider] answers a [Request] with a [Decision]: whether the action
// may go ahead, the ids of the policies that determined it, the policies
// that failed to evaluate, and the mode. Cedar's rules hold: default
// deny, a forbid overrides any permit, and a policy that fails to
// evaluate is skipped, so an error never allows. [Engine] is the Decider
// of this package; an engine holds one policy set.
//
// # The entity model
//
// Every request has an Agent as principal, one of four actions
// (invoke_tool, call_api, acquire_token, invoke_agent) and a Tool, an
// Api or an Agent as resource. [BaseSchema] is the Cedar schema,
// embedded in the package; in short:
//
//	entity Group in [Group];
//	entity Blueprint;
//	entity Agent in [Blueprint, Group] { tenant, blueprint, kind: String,
//		sponsors: Set<String>, risk: Long, tags: Set<String> };
//	entity User in [Group];
//	entity Tool, Api in [Group] { risk: Long, tags: Set<String> };
//	context: time (datetime), source_ip? (ipaddr), risk, scopes,
//		delegation { depth, chain }, user? (User), session?,
//		http? { method, path }, args (Args), counters (Counters)
//
// Args and Counters are generated from [WithArgument],
// [WithRateCounter] and [WithTotalCounter]; [Engine.Schema] shows the
// whole. Risk levels run from 0 (none) to 3 (high).
//
// A [Subject] is built from a verified token with [FromPrincipal] on the
// resource's side, and from the agent's own [agentid.Identity] and the
// user it serves with [FromIdentity] on the agent's side: the same
// policy reads the same on both.
//
//	// No agent at high risk calls anything.
//	forbid (principal, action, resource) when { principal.risk >= 3 };
//
//	// Agents of the support blueprint may refund, for a delegating user
//	// in finance, up to 500 per session and 10 a minute, from the office.
//	permit (principal in Blueprint::"support", action == Action::"invoke_tool",
//		resource == Tool::"refund")
//	when {
//		context has user && context.user in Group::"finance" &&
//		context.args has amount && context.counters.spend <= 500 &&
//		context.counters.calls_per_minute <= 10 &&
//		context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8"))
//	};
//
// # Policies and sources
//
// A [Source] supplies Cedar documents: [FromFiles] (files and
// directories of .cedar files), [FromString], and signed bundles
// ([FromBundle], [FromBundleFile]); [Sources] joins several. A policy's
// id is its @id annotation, else "file:line". Every policy is validated
// against the schema when it is loaded: a document that does not parse,
// or a policy that does not validate, is refused with a [*LoadError]
// that gives its file, line and reason, and the whole update with it.
//
// A signed bundle is a compact JWS, verified with jwx against a
// configured key set (the registry's JWKS): only asymmetric algorithms,
// never "none" or HMAC; an unsigned, badly signed, tampered or expired
// bundle is refused ([ErrInvalidBundle], [ErrBundleExpired]).
// [SignBundle] makes one.
//
// # Hot reload
//
// [Engine.Reload] loads the source again, and [WithWatch] polls it (file
// sizes, modification times and content hashes). A new set is swapped in
// atomically: each decision sees one whole set. A bad update keeps the
// last good set, is logged, and is reported by Reload and
// [Engine.Status].
//
// # Report-only mode
//
// An engine made with WithMode([ReportOnly]) decides every request but
// lets every one go ahead, as report-only Conditional Access policies
// do: the decision says Allow, Mode ReportOnly, and WouldDeny when the
// policies deny. [All] runs an enforced policy set next to report-only
// ones. Every decision is added to the span in the context, when it
// records, as an event named policy_decision with the attributes
// passport.policy.decision, passport.policy.would_deny,
// passport.policy.ids, passport.policy.mode, passport.policy.action and
// passport.policy.resource; it is given to the observer
// ([WithObserver]) and, when it would deny, logged.
//
// # Session counters
//
// [WithRateCounter] counts the calls of an agent to a resource in a
// sliding window, and [WithTotalCounter] keeps a running total of a tool
// argument per session; both count the call being decided and reach the
// policies as context.counters, so that "no more than 10 refunds a
// minute" and "total spend under 500 per session" are ordinary `when`
// clauses. Memory is bounded ([WithCounterLimits], [WithSessionTTL]).
//
// # Enforcement
//
// [Guard] wraps a tool function, [Middleware] protects an HTTP API
// behind [agentid.Middleware], and [TokenHook] checks acquire_token
// before the credentials package sends a token request (adapt it to
// credentials.WithPreAcquire in one line; see TokenHook). A denied
// request never reaches the tool, the handler or the network.
//
// # Performance
//
// The engine indexes a policy set by each policy's scope (principal,
// action, resource constraints) and evaluates only the policies whose
// scope can hold for the request; Cedar's semantics are kept exactly
// (index.go says why). It builds only the context attributes those
// policies read, and keeps the entities of recent agents and resources
// and recent context records in small bounded caches. A decision costs
// a few microseconds, about the same with 20 or 2 000 policies when
// most of them are about other agents, tools or APIs.
package policy
