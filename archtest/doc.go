// Package archtest checks the module's dependency rules (STYLE.md, "Layout and
// names"; DESIGN.md section 2). It has no code of its own: its test lists every
// package of the module with `go list` and fails when an import breaks a rule:
//
//   - domain imports only the standard library;
//   - ports imports only the standard library and domain;
//   - wire, what the transport adapters share, imports only the standard
//     library and domain;
//   - app imports only the standard library, domain, ports and
//     golang.org/x/sync/errgroup;
//   - an adapter never imports app or another adapter, not even in its tests;
//   - only the module root, internal/... and cmd/... import app or internal/...;
//   - only tests (and the test kits themselves) import testenv and ports/portstest.
//
// Run it with `go test ./archtest`.
package archtest
