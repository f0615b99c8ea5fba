package telemetry

// Scope and version of the module's instrumentation: every tracer and
// meter of the module is named ScopeName (with the package's path as a
// suffix where useful) and reports Version.
const (
	ScopeName = "github.com/agentpassport/passport"
	Version   = "0.1.0"
)

// Operation names (gen_ai.operation.name) of the GenAI semantic
// conventions, and those this module adds for identity work.
const (
	OpInvokeAgent    = "invoke_agent"
	OpExecuteTool    = "execute_tool"
	OpChat           = "chat"
	OpOutputMessages = "output_messages"
	OpApplyGuardrail = "apply_guardrail"
	// OpAcquireToken and OpPolicyDecision are this module's own: a token
	// acquisition and a policy decision.
	OpAcquireToken   = "acquire_token"
	OpPolicyDecision = "policy_decision"
)

// GenAI semantic-convention attribute keys.
const (
	GenAIOperationName    = "gen_ai.operation.name"
	GenAIAgentID          = "gen_ai.agent.id"
	GenAIAgentName        = "gen_ai.agent.name"
	GenAIAgentVersion     = "gen_ai.agent.version"
	GenAIAgentDescription = "gen_ai.agent.description"
	GenAIToolName         = "gen_ai.tool.name"
	GenAIToolCallID       = "gen_ai.tool.call.id"
	GenAIToolType         = "gen_ai.tool.type"
	GenAIConversationID   = "gen_ai.conversation.id"
	ErrorType             = "error.type"
)

// Identity attribute keys: who acted, for whom, through which chain.
const (
	TenantID        = "microsoft.tenant.id"
	BlueprintID     = "microsoft.a365.agent.blueprint.id"
	UserID          = "user.id" // pseudonymised unless configured otherwise
	AgentKind       = "passport.agent.kind"
	DelegationDepth = "passport.delegation.depth"
	DelegationChain = "passport.delegation.chain"
)

// Token acquisition attribute keys. Never a token: the audience and
// scopes asked for, the flow, the outcome.
const (
	TokenFlow      = "passport.token.flow"
	TokenScopes    = "passport.token.scopes"
	TokenResource  = "passport.token.resource"
	TokenCacheHit  = "passport.token.cache_hit"
	TokenErrorCode = "passport.token.error_code"
)

// OpVerifyToken is the operation of the span a resource's middleware
// records when it verifies an incoming token.
const OpVerifyToken = "verify_token"
