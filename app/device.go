package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// DefaultMaxDevices is how many push devices a user may register when
// Config.MaxDevices is zero: phones, tablets and browsers of one person.
const DefaultMaxDevices = 20

// RegisterDevice implements ports.Devices.
func (a *App) RegisterDevice(ctx context.Context, caller domain.UserID, r domain.DeviceRegistration) (domain.Device, error) {
	if a.cfg.Devices == nil {
		return domain.Device{}, domain.Errorf(domain.KindUnavailable, "push devices are not kept by this server")
	}
	d, err := domain.NewDevice(caller, r, a.now())
	if err != nil {
		return domain.Device{}, err
	}
	return a.cfg.Devices.SaveDevice(ctx, d, a.cfg.MaxDevices)
}

// RemoveDevice implements ports.Devices.
func (a *App) RemoveDevice(ctx context.Context, caller domain.UserID, id domain.DeviceID) error {
	if a.cfg.Devices == nil {
		return domain.Errorf(domain.KindUnavailable, "push devices are not kept by this server")
	}
	return a.cfg.Devices.DeleteDevice(ctx, caller, id)
}
