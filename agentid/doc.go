// Package agentid holds the identity model of an AI agent: who an agent is
// ([Identity]) and how it acts ([Kind]).
//
// The model follows Microsoft Entra Agent ID. An agent identity blueprint
// is an application that agent identities are created from; an agent
// identity acts either on its own ([Autonomous]), on behalf of the user it
// serves ([Delegated]), or as its own user account ([AgentUser]). Each
// agent has human sponsors who answer for it.
//
// The verification of incoming agent tokens, the Principal built from them
// and the registry client come in later versions of this package.
package agentid
