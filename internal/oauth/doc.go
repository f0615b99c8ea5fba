// Package oauth holds the token-endpoint wire format shared by the
// module: the POST of a form to a token endpoint (RFC 6749 §3.2), the
// parsing of success responses (RFC 6749 §5.1, RFC 8693 §2.2.1 and
// Microsoft Entra's extensions such as refresh_in), the parsing of error
// responses (RFC 6749 §5.2 and Entra's error_codes, trace_id and
// correlation_id), Retry-After, and WWW-Authenticate challenges (RFC 7235,
// RFC 6750 §3).
//
// Every parser here reads untrusted input: bodies are read through a size
// limit and every parser returns an error, never panics, on any input.
package oauth
