// Package report holds the load generator's results (the JSON it writes) and
// renders them: a plain text table for the terminal, a Markdown report over
// several runs, and an SVG plot of latency over time.
package report
