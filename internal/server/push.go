package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/messenger-go/messenger/adapters/fcm"
	"github.com/messenger-go/messenger/adapters/webhook"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// wirePush picks the pushers the configuration names; with none, push is
// off and push-notifications-group does not run.
func wirePush(cfg Config, d *deps, logger *slog.Logger) error {
	pushers := map[domain.Platform]ports.Pusher{}
	metrics := d.metrics()
	if cfg.PushWebhookURL != "" {
		if cfg.PushWebhookSecret == "" {
			return errors.New("MESSENGER_PUSH_WEBHOOK_SECRET is required with MESSENGER_PUSH_WEBHOOK_URL")
		}
		hook, err := webhook.New(webhook.Config{
			URL: cfg.PushWebhookURL, Secret: []byte(cfg.PushWebhookSecret), Attempts: cfg.PushWebhookAttempts, Logger: logger,
			DeadLetter: func(context.Context, webhook.Call, error) {
				metrics.Pushed(domain.PlatformWebhook, "dead_lettered")
			},
		})
		if err != nil {
			return fmt.Errorf("MESSENGER_PUSH_WEBHOOK_*: %w", err)
		}
		pushers[domain.PlatformWebhook] = hook
	}
	if cfg.PushFCMCredentials != "" {
		key, err := os.ReadFile(cfg.PushFCMCredentials)
		if err != nil {
			return fmt.Errorf("MESSENGER_PUSH_FCM_CREDENTIALS_FILE: %w", err)
		}
		p, err := fcm.New(fcm.Config{Credentials: key, Logger: logger})
		if err != nil {
			return fmt.Errorf("MESSENGER_PUSH_FCM_CREDENTIALS_FILE: %w", err)
		}
		pushers[domain.PlatformFCM] = p
	}
	if len(pushers) == 0 {
		logger.Info("push: off")
		return nil
	}
	d.config.Push = app.Push{Pushers: pushers, Collapse: cfg.PushCollapse, StoredWait: cfg.PushStoredWait, Workers: cfg.PushWorkers}
	logger.Info("push: on", "webhook", cfg.PushWebhookURL != "", "fcm", cfg.PushFCMCredentials != "")
	return nil
}
