// Package portstest holds the contract suites of the driven ports: one exported
// Run function per port that any implementation must pass. The suites are the
// executable form of the doc comments in package ports.
//
// Each suite takes a constructor that returns a fresh, isolated, empty instance
// and calls it once or more per subtest. The suites use random ids, emails, keys
// and topic names, so several of them may share one database, Redis or Kafka.
// Subtests do not run in parallel with each other; some of them start goroutines
// to exercise concurrency guarantees, and all of those end before the subtest does.
package portstest
