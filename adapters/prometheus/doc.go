// Package prometheus exports the messenger's measurements (ports.Metrics and a
// few gauges read at scrape time) with the Prometheus client library. A Metrics
// is safe for concurrent use.
package prometheus
