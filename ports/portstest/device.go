package portstest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RunDeviceStore runs the contract of ports.DeviceStore. users is the store
// of the same backend, whose DeleteUser must remove the user's devices.
func RunDeviceStore(t *testing.T, newStores func(t *testing.T) (ports.UserStore, ports.DeviceStore)) {
	device := func(t *testing.T, user domain.UserID, p domain.Platform, tok string, sec int) domain.Device {
		t.Helper()
		d, err := domain.NewDevice(user, domain.DeviceRegistration{Platform: p, Token: tok}, at(sec))
		require.NoError(t, err)
		return d
	}
	ids := func(list []domain.Device) []domain.DeviceID {
		out := make([]domain.DeviceID, len(list))
		for i, d := range list {
			out[i] = d.ID
		}
		return out
	}

	t.Run("saved devices are listed per user, oldest first, with every field", func(t *testing.T) {
		users, s := newStores(t)
		alice, bob, carol := createUser(t, users, userSpec{}), createUser(t, users, userSpec{}), createUser(t, users, userSpec{})
		second := device(t, alice.ID, domain.PlatformFCM, "fcm-"+token(20), 2)
		second.Preview = domain.PreviewText
		first := device(t, alice.ID, domain.PlatformWebhook, "hook-"+token(20), 1)
		bobs := device(t, bob.ID, domain.PlatformWebPush, `{"endpoint":"https://push.example/`+token(8)+`"}`, 3)
		for _, d := range []domain.Device{second, first, bobs} {
			got, err := s.SaveDevice(t.Context(), d, 0)
			require.NoError(t, err)
			assert.Equal(t, d, got)
		}
		all, err := s.DevicesOf(t.Context(), []domain.UserID{alice.ID, bob.ID, carol.ID})
		require.NoError(t, err)
		assert.Equal(t, map[domain.UserID][]domain.Device{alice.ID: {first, second}, bob.ID: {bobs}}, all)
		none, err := s.DevicesOf(t.Context(), []domain.UserID{carol.ID})
		require.NoError(t, err)
		assert.Empty(t, none)
	})

	t.Run("a token saved again is one device: same id for its user, moved to another user", func(t *testing.T) {
		users, s := newStores(t)
		alice, bob := createUser(t, users, userSpec{}), createUser(t, users, userSpec{})
		tok := "fcm-" + token(20)
		d := device(t, alice.ID, domain.PlatformFCM, tok, 1)
		_, err := s.SaveDevice(t.Context(), d, 0)
		require.NoError(t, err)
		again := device(t, alice.ID, domain.PlatformFCM, tok, 2)
		again.Preview = domain.PreviewNone
		got, err := s.SaveDevice(t.Context(), again, 0)
		require.NoError(t, err)
		assert.Equal(t, d.ID, got.ID, "the first registration's id")
		assert.Equal(t, domain.PreviewNone, got.Preview, "the new preview")
		// The same token on another platform is another device.
		other, err := s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformWebhook, tok, 3), 0)
		require.NoError(t, err)

		moved, err := s.SaveDevice(t.Context(), device(t, bob.ID, domain.PlatformFCM, tok, 4), 0)
		require.NoError(t, err)
		all, err := s.DevicesOf(t.Context(), []domain.UserID{alice.ID, bob.ID})
		require.NoError(t, err)
		assert.Equal(t, []domain.DeviceID{other.ID}, ids(all[alice.ID]))
		assert.Equal(t, []domain.DeviceID{moved.ID}, ids(all[bob.ID]))
	})

	t.Run("a user has at most max devices", func(t *testing.T) {
		users, s := newStores(t)
		alice := createUser(t, users, userSpec{})
		for i := range 2 {
			_, err := s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformFCM, "t-"+token(20), i), 2)
			require.NoError(t, err)
		}
		_, err := s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformFCM, "t-"+token(20), 5), 2)
		errorKind(t, domain.KindConflict, err)
	})

	t.Run("DeleteDevice removes only the caller's device", func(t *testing.T) {
		users, s := newStores(t)
		alice, bob := createUser(t, users, userSpec{}), createUser(t, users, userSpec{})
		d, err := s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformWebhook, "h-"+token(20), 1), 0)
		require.NoError(t, err)
		errorKind(t, domain.KindNotFound, s.DeleteDevice(t.Context(), bob.ID, d.ID))
		require.NoError(t, s.DeleteDevice(t.Context(), alice.ID, d.ID))
		errorKind(t, domain.KindNotFound, s.DeleteDevice(t.Context(), alice.ID, d.ID))
		all, err := s.DevicesOf(t.Context(), []domain.UserID{alice.ID})
		require.NoError(t, err)
		assert.Empty(t, all)
	})

	t.Run("ForgetToken removes the device of that platform and token, idempotently", func(t *testing.T) {
		users, s := newStores(t)
		alice := createUser(t, users, userSpec{})
		tok := "fcm-" + token(20)
		_, err := s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformFCM, tok, 1), 0)
		require.NoError(t, err)
		kept, err := s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformWebhook, tok, 2), 0)
		require.NoError(t, err)
		require.NoError(t, s.ForgetToken(t.Context(), domain.PlatformFCM, tok))
		require.NoError(t, s.ForgetToken(t.Context(), domain.PlatformFCM, tok))
		all, err := s.DevicesOf(t.Context(), []domain.UserID{alice.ID})
		require.NoError(t, err)
		assert.Equal(t, []domain.DeviceID{kept.ID}, ids(all[alice.ID]))
	})

	t.Run("DeleteUser removes the user's devices, and a deleted user saves none", func(t *testing.T) {
		users, s := newStores(t)
		alice, bob := createUser(t, users, userSpec{}), createUser(t, users, userSpec{})
		_, err := s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformFCM, "a-"+token(20), 1), 0)
		require.NoError(t, err)
		bobs, err := s.SaveDevice(t.Context(), device(t, bob.ID, domain.PlatformFCM, "b-"+token(20), 1), 0)
		require.NoError(t, err)
		require.NoError(t, users.DeleteUser(t.Context(), alice.ID, at(10)))
		all, err := s.DevicesOf(t.Context(), []domain.UserID{alice.ID, bob.ID})
		require.NoError(t, err)
		assert.Equal(t, map[domain.UserID][]domain.Device{bob.ID: {bobs}}, all)
		_, err = s.SaveDevice(t.Context(), device(t, alice.ID, domain.PlatformFCM, "a-"+token(20), 11), 0)
		errorKind(t, domain.KindNotFound, err)
		_, err = s.SaveDevice(t.Context(), device(t, domain.NewUserID(), domain.PlatformFCM, "n-"+token(20), 11), 0)
		errorKind(t, domain.KindNotFound, err)
	})
}
