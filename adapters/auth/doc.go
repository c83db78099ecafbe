// Package auth implements the credential ports: RS256 access tokens
// (ports.TokenIssuer, ports.TokenVerifier, ports.KeySet) with
// lestrrat-go/jwx, and argon2id password hashes (ports.PasswordHasher).
//
// Tokens accepts only RS256 tokens signed by its own key (or a retired key it
// was given) whose kid names that key, and requires exp, iss, aud and sub.
// Successful verifications are remembered in a small bounded cache until the
// token expires, so a client reusing its token is not RSA-verified on every
// request.
//
// Tokens and Passwords are safe for concurrent use.
package auth
