package http

import (
	"net/http"

	"github.com/messenger-go/messenger/domain"
)

type deviceRequest struct {
	Platform string `json:"platform"`
	Token    string `json:"token"`
	Preview  string `json:"preview"`
}

type deviceResponse struct {
	DeviceID domain.DeviceID `json:"deviceId"`
	Platform domain.Platform `json:"platform"`
	Preview  domain.Preview  `json:"preview"`
}

// POST /devices {platform, token, preview?} -> 201 {deviceId, platform, preview}.
func (h *Handler) registerDevice(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	var req *deviceRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req == nil {
		return domain.Errorf(domain.KindInvalid, "request body must be a JSON object")
	}
	d, err := h.svc.RegisterDevice(r.Context(), caller, domain.DeviceRegistration{
		Platform: domain.Platform(req.Platform), Token: req.Token, Preview: domain.Preview(req.Preview),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, deviceResponse{DeviceID: d.ID, Platform: d.Platform, Preview: d.Preview})
	return nil
}

// DELETE /devices/{deviceId} -> 204.
func (h *Handler) removeDevice(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	id, err := domain.ParseDeviceID(r.PathValue("deviceId"))
	if err != nil {
		return err
	}
	if err := h.svc.RemoveDevice(r.Context(), caller, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
