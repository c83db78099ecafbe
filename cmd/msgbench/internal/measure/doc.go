// Package measure holds the load generator's arithmetic: the open-loop send
// schedule, latency percentiles and their per-second series, the per
// conversation sequence check (lost, duplicated, out of order), and readers of
// /proc and of the Prometheus text format. It does no I/O of its own except
// reading /proc files it is pointed at.
//
// Latencies and Streams are not safe for concurrent use unless their doc says
// so; Schedule is a value and safe everywhere.
package measure
