package postgres_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// Appends and read marks race on the same conversations; the unread counts
// kept beside the watermarks stay equal to a count of the rows.
func TestUnreadCountsStayExactUnderConcurrency(t *testing.T) {
	s := newStore(t)
	us := createUsers(t, s, 3)
	a, b, c := us[0], us[1], us[2]
	convs := []domain.ConversationID{conversationOf(t, a, b), conversationOf(t, a, c)}
	const rounds = 30

	var wg sync.WaitGroup
	errs := make(chan error, 4*rounds)
	for w := range 2 { // appenders
		rng := rand.New(rand.NewPCG(uint64(w), 1))
		var batches [][]domain.Message
		for r := range rounds {
			var msgs []domain.Message
			for i := range 1 + rng.IntN(6) {
				from, to := a, us[1+rng.IntN(2)]
				if rng.IntN(2) == 0 {
					from, to = to, from
				}
				msgs = append(msgs, newMessage(t, from, to, fmt.Sprintf("w%d r%d m%d", w, r, i)))
			}
			batches = append(batches, msgs)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r, msgs := range batches {
				if _, err := s.AppendBatch(t.Context(), appends(int32(w), int64(r*10), msgs...)); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, reader := range us { // readers, marking up to a random point
		rng := rand.New(rand.NewPCG(uint64(len(reader.FirstName)), uint64(reader.ID[0])))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				conv := convs[rng.IntN(2)]
				if !conv.Has(reader.ID) {
					continue
				}
				if _, _, err := s.MarkRead(t.Context(), conv, reader.ID, domain.Sequence(rng.IntN(200)), epoch); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	for _, u := range us {
		got, err := s.UnreadCounts(t.Context(), u.ID)
		require.NoError(t, err)
		var total int64
		for _, conv := range convs {
			if !conv.Has(u.ID) {
				continue
			}
			want := count(t, s, `
				SELECT count(*) FROM chats ch JOIN conversation_members m
					ON m.conversation_id = ch.conversation_id AND m.user_id = ch.receiver_id
				WHERE ch.conversation_id = $1 AND ch.receiver_id = $2 AND ch.sequence_id > m.read_sequence`,
				string(conv), string(u.ID))
			assert.Equal(t, want, got.ByConversation[conv], "user %s conversation %s", u.ID, conv)
			total += want
			unstamped := count(t, s, `
				SELECT count(*) FROM chats ch JOIN conversation_members m
					ON m.conversation_id = ch.conversation_id AND m.user_id = ch.receiver_id
				WHERE ch.conversation_id = $1 AND ch.receiver_id = $2 AND ch.sequence_id <= m.read_sequence AND ch.read_at IS NULL`,
				string(conv), string(u.ID))
			assert.Zero(t, unstamped, "every message under the read watermark has readAt")
		}
		assert.Equal(t, total, got.Total)
	}
}
