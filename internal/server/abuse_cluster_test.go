package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// post sends body to base+path and returns the status, the Retry-After
// header and the error code of the answer.
func post(t *testing.T, base, path, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var e struct {
		Error domain.ErrorPayload `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, resp.Header.Get("Retry-After"), e.Error.Code
}

// TestClusterSharesAbuseLimits runs two nodes of one deployment: failed
// logins and registrations counted on one node count on the other (Redis),
// and a typing flood on node 1 neither reaches bob on node 2 as a flood nor
// knocks him offline.
func TestClusterSharesAbuseLimits(t *testing.T) {
	s := newStack(t)
	s.env["MESSENGER_REGISTRATIONS_PER_ADDRESS"] = "3"
	s.env["MESSENGER_LOGIN_ACCOUNT_FREE_FAILURES"] = "3"
	s.env["MESSENGER_LOGIN_FIRST_DELAY"] = "10m"
	n1, n2 := s.start(t, "node-1"), s.start(t, "node-2")

	// Registrations: 3 per address, two on node 1 and one on node 2; the
	// fourth is refused on either node.
	alice, bob := register(t, n1.base, "Alice"), register(t, n2.base, "Bob")
	register(t, n1.base, "Carol")
	for _, n := range []*node{n2, n1} {
		status, retry, code := post(t, n.base, "/auth/register",
			fmt.Sprintf(`{"firstName":"Dan","lastName":"Tester","email":"dan.%d@example.com","password":"correct horse battery"}`, time.Now().UnixNano()))
		assert.Equal(t, http.StatusTooManyRequests, status, n.name)
		assert.Equal(t, "rate_limited", code)
		wait, err := strconv.Atoi(retry)
		require.NoError(t, err, "Retry-After %q", retry)
		assert.Greater(t, wait, 0)
	}

	// Logins: 3 failures of alice's account, two on node 1 and one on node
	// 2; then even her right password waits, on both nodes.
	wrong := `{"email":"` + alice.email + `","password":"wrong password!"}`
	for _, n := range []*node{n1, n1, n2} {
		status, _, code := post(t, n.base, "/auth/login", wrong)
		require.Equal(t, http.StatusUnauthorized, status, "%s: %s", n.name, code)
	}
	right := `{"email":"` + alice.email + `","password":"correct horse battery"}`
	for _, n := range []*node{n2, n1} {
		status, retry, code := post(t, n.base, "/auth/login", right)
		assert.Equal(t, http.StatusTooManyRequests, status, n.name)
		assert.Equal(t, "rate_limited", code)
		wait, err := strconv.Atoi(retry)
		require.NoError(t, err, "Retry-After %q", retry)
		assert.Greater(t, wait, 60, "the ten minutes' wait, on both nodes")
	}
	// Bob's account is not alice's: his login goes through.
	_, _, err := client.New(n1.base, nil).Login(context.Background(), bob.email, "correct horse battery")
	require.NoError(t, err)

	// A typing flood from alice on node 1 to bob on node 2.
	ctx := context.Background()
	bob.connect(t, n2.base)
	befriend(t, alice, bob)
	floodTyping(t, n1.base, alice, bob.id)
	_, err = alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "across nodes"})
	require.NoError(t, err)
	assert.LessOrEqual(t, bob.countBeforeMessage(t, domain.EventTypingIndicator), 1, "the flood reached bob as one indicator at most")
}
