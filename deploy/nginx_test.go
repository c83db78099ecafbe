// Package deploy_test checks the deployment files that no Go code reads.
package deploy_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	comment   = regexp.MustCompile(`(?m)#.*$`)
	logFormat = regexp.MustCompile(`log_format\s+(\S+)((?:\s+'[^']*')+)\s*;`)
	accessLog = regexp.MustCompile(`access_log\s+([^;\s]+)((?:\s+[^;\s]+)*)\s*;`)
	// leaky are the variables that hold a query string (where browsers put
	// the WebSocket access token) or a URL that may carry one.
	leaky = regexp.MustCompile(`\$(request|request_uri|args|query_string|arg_\w+|http_referer|http_authorization)\b`)
)

// TestNginxLogsNoTokens: every server block of deploy/nginx.conf and
// nginx-tls.conf (one http context in /etc/nginx/conf.d) logs with a format
// of its own (nginx's default, combined, logs the request line with its
// query), and no format logs the query, the referer or credentials.
func TestNginxLogsNoTokens(t *testing.T) {
	var all strings.Builder
	for _, name := range []string{"nginx.conf", "nginx-tls.conf"} {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		all.Write(data)
		all.WriteByte('\n')
	}
	conf := comment.ReplaceAllString(all.String(), "")

	formats := map[string]string{}
	for _, m := range logFormat.FindAllStringSubmatch(conf, -1) {
		formats[m[1]] = m[2]
		assert.NotRegexp(t, leaky, m[2], "log_format %s", m[1])
	}

	servers := serverBlocks(conf)
	require.NotEmpty(t, servers)
	for i, block := range servers {
		logs := accessLog.FindAllStringSubmatch(block, -1)
		require.NotEmpty(t, logs, "server block %d has no access_log: nginx's combined format would log tokens", i+1)
		for _, l := range logs {
			if l[1] == "off" {
				continue
			}
			args := strings.Fields(l[2])
			require.NotEmpty(t, args, "access_log %s names no format: combined logs the query", l[1])
			_, ok := formats[args[0]]
			assert.True(t, ok, "access_log %s uses format %q, not one defined in the file", l[1], args[0])
		}
	}
	assert.Contains(t, conf, "X-Forwarded-For $proxy_add_x_forwarded_for",
		"the server finds the client's address as the right-most hop the proxy appended")
}

// serverBlocks returns the bodies of the server { ... } blocks of conf.
func serverBlocks(conf string) []string {
	var out []string
	for _, loc := range regexp.MustCompile(`(?m)^\s*server\s*\{`).FindAllStringIndex(conf, -1) {
		depth := 0
		for i := loc[1] - 1; i < len(conf); i++ {
			switch conf[i] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				out = append(out, conf[loc[1]:i])
				break
			}
		}
	}
	return out
}
