package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.DeviceStore = (*Store)(nil)

// SaveDevice implements ports.DeviceStore.
func (s *Store) SaveDevice(ctx context.Context, d domain.Device, max int) (domain.Device, error) {
	if err := live(ctx); err != nil {
		return domain.Device{}, err
	}
	if _, err := domain.ParseDeviceID(string(d.ID)); err != nil {
		return domain.Device{}, err
	}
	s.devicesMu.Lock()
	defer s.devicesMu.Unlock()
	s.usersMu.RLock()
	_, ok := s.users[d.User]
	gone := s.deleted[d.User]
	s.usersMu.RUnlock()
	if !ok || gone {
		return domain.Device{}, domain.Errorf(domain.KindNotFound, "user not found")
	}
	n := 0
	for id, old := range s.devices {
		switch {
		case old.Platform == d.Platform && old.Token == d.Token && old.User == d.User:
			old.Preview = d.Preview
			s.devices[id] = old
			return old, nil
		case old.Platform == d.Platform && old.Token == d.Token:
			delete(s.devices, id)
		case old.User == d.User:
			n++
		}
	}
	if max > 0 && n >= max {
		return domain.Device{}, domain.Errorf(domain.KindConflict, "at most %d devices per user; remove one first", max)
	}
	d.CreatedAt = d.CreatedAt.UTC()
	s.devices[d.ID] = d
	return d, nil
}

// DeleteDevice implements ports.DeviceStore.
func (s *Store) DeleteDevice(ctx context.Context, user domain.UserID, id domain.DeviceID) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.devicesMu.Lock()
	defer s.devicesMu.Unlock()
	if d, ok := s.devices[id]; !ok || d.User != user {
		return domain.Errorf(domain.KindNotFound, "device not found")
	}
	delete(s.devices, id)
	return nil
}

// DevicesOf implements ports.DeviceStore.
func (s *Store) DevicesOf(ctx context.Context, users []domain.UserID) (map[domain.UserID][]domain.Device, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	out := map[domain.UserID][]domain.Device{}
	s.devicesMu.RLock()
	defer s.devicesMu.RUnlock()
	if len(s.devices) == 0 {
		return out, nil
	}
	for _, d := range s.devices {
		if slices.Contains(users, d.User) {
			out[d.User] = append(out[d.User], d)
		}
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b domain.Device) int {
			if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(string(a.ID), string(b.ID))
		})
	}
	return out, nil
}

// ForgetToken implements ports.DeviceStore.
func (s *Store) ForgetToken(ctx context.Context, platform domain.Platform, token string) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.devicesMu.Lock()
	defer s.devicesMu.Unlock()
	for id, d := range s.devices {
		if d.Platform == platform && d.Token == token {
			delete(s.devices, id)
		}
	}
	return nil
}
