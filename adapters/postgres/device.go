package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.DeviceStore = (*Store)(nil)

const deviceColumns = `id, user_id, platform, token, preview, created_at`

// SaveDevice implements ports.DeviceStore in one transaction, which holds
// the user's row against a concurrent DeleteUser.
func (s *Store) SaveDevice(ctx context.Context, d domain.Device, max int) (domain.Device, error) {
	if _, err := domain.ParseUserID(string(d.User)); err != nil {
		return domain.Device{}, err
	}
	if _, err := domain.ParseDeviceID(string(d.ID)); err != nil {
		return domain.Device{}, err
	}
	d.CreatedAt = d.CreatedAt.UTC().Truncate(time.Microsecond)
	var saved domain.Device
	err := s.inTx(ctx, "save device", pgx.TxOptions{}, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL FOR KEY SHARE`, string(d.User)).Scan(&one); err != nil {
			return err
		}
		old, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE platform = $1 AND token = $2 FOR UPDATE`,
			string(d.Platform), d.Token))
		switch {
		case err == nil && old.User == d.User:
			saved = old
			saved.Preview = d.Preview
			_, err := tx.Exec(ctx, `UPDATE devices SET preview = $2 WHERE id = $1`, string(old.ID), string(d.Preview))
			return err
		case err == nil:
			if _, err := tx.Exec(ctx, `DELETE FROM devices WHERE id = $1`, string(old.ID)); err != nil {
				return err
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if max > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM devices WHERE user_id = $1`, string(d.User)).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return domain.Errorf(domain.KindConflict, "at most %d devices per user; remove one first", max)
			}
		}
		saved = d
		_, err = tx.Exec(ctx, `INSERT INTO devices (`+deviceColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			string(d.ID), string(d.User), string(d.Platform), d.Token, string(d.Preview), d.CreatedAt)
		return err
	})
	if err != nil {
		return domain.Device{}, translate(err, "device")
	}
	return saved, nil
}

// DeleteDevice implements ports.DeviceStore.
func (s *Store) DeleteDevice(ctx context.Context, user domain.UserID, id domain.DeviceID) error {
	if _, err := domain.ParseDeviceID(string(id)); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM devices WHERE id = $1 AND user_id = $2`, string(id), string(user))
	if err != nil {
		return translate(err, "delete device")
	}
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.KindNotFound, "device not found")
	}
	return nil
}

// DevicesOf implements ports.DeviceStore.
func (s *Store) DevicesOf(ctx context.Context, users []domain.UserID) (map[domain.UserID][]domain.Device, error) {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = string(u)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ANY($1::uuid[]) ORDER BY user_id, created_at, id`, ids)
	if err != nil {
		return nil, translate(err, "devices")
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Device, error) { return scanDevice(r) })
	if err != nil {
		return nil, translate(err, "devices")
	}
	out := map[domain.UserID][]domain.Device{}
	for _, d := range list {
		out[d.User] = append(out[d.User], d)
	}
	return out, nil
}

// ForgetToken implements ports.DeviceStore.
func (s *Store) ForgetToken(ctx context.Context, platform domain.Platform, token string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM devices WHERE platform = $1 AND token = $2`, string(platform), token)
	return translate(err, "forget device")
}

func scanDevice(row pgx.Row) (domain.Device, error) {
	var d domain.Device
	var id, user, platform, preview string
	if err := row.Scan(&id, &user, &platform, &d.Token, &preview, &d.CreatedAt); err != nil {
		return domain.Device{}, err
	}
	d.ID, d.User, d.Platform, d.Preview = domain.DeviceID(id), domain.UserID(user), domain.Platform(platform), domain.Preview(preview)
	d.CreatedAt = d.CreatedAt.UTC()
	return d, nil
}
