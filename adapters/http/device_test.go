package http_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// deviceFake is the push devices' part of fakeService.
type deviceFake struct {
	registerDevice func(ctx context.Context, caller domain.UserID, r domain.DeviceRegistration) (domain.Device, error)
	removeDevice   func(ctx context.Context, caller domain.UserID, id domain.DeviceID) error
}

func (f *deviceFake) RegisterDevice(ctx context.Context, caller domain.UserID, r domain.DeviceRegistration) (domain.Device, error) {
	if f.registerDevice == nil {
		return domain.Device{}, errUnexpected
	}
	return f.registerDevice(ctx, caller, r)
}

func (f *deviceFake) RemoveDevice(ctx context.Context, caller domain.UserID, id domain.DeviceID) error {
	if f.removeDevice == nil {
		return errUnexpected
	}
	return f.removeDevice(ctx, caller, id)
}

func TestDevices(t *testing.T) {
	const id domain.DeviceID = "33333333-3333-4333-8333-333333333333"
	s := newServer(t)
	var registered []domain.DeviceRegistration
	s.svc.registerDevice = func(_ context.Context, caller domain.UserID, r domain.DeviceRegistration) (domain.Device, error) {
		registered = append(registered, r)
		return domain.NewDevice(caller, r, t0)
	}
	var removed []domain.DeviceID
	s.svc.removeDevice = func(_ context.Context, caller domain.UserID, got domain.DeviceID) error {
		if caller != alice {
			return domain.Errorf(domain.KindNotFound, "device not found")
		}
		removed = append(removed, got)
		return nil
	}

	w := s.do(t, request{method: "POST", path: "/devices", token: goodToken, body: `{"platform":"fcm","token":"abc","preview":"text"}`})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Regexp(t, `^\{"deviceId":"[0-9a-f-]{36}","platform":"fcm","preview":"text"\}\n$`, w.Body.String())
	assert.Equal(t, []domain.DeviceRegistration{{Platform: domain.PlatformFCM, Token: "abc", Preview: domain.PreviewText}}, registered)

	requireError(t, s.do(t, request{method: "POST", path: "/devices", token: goodToken, body: `{"platform":"pager","token":"abc"}`}),
		http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "POST", path: "/devices", token: goodToken, body: `{"platform":"fcm","token":""}`}),
		http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "POST", path: "/devices", token: goodToken, body: `[]`}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "POST", path: "/devices", body: `{"platform":"fcm","token":"abc"}`}),
		http.StatusUnauthorized, "unauthenticated")

	w = s.do(t, request{method: "DELETE", path: "/devices/" + string(id), token: goodToken})
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, []domain.DeviceID{id}, removed)
	requireError(t, s.do(t, request{method: "DELETE", path: "/devices/nope", token: goodToken}), http.StatusBadRequest, "invalid")
	assert.Len(t, removed, 1, "a bad id is refused before the service")
}
