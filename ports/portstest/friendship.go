package portstest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RunFriendStore runs the contract of ports.FriendStore. newStores returns a
// user store and a friend store over the same data: friendships refer to users
// created in the user store.
func RunFriendStore(t *testing.T, newStores func(t *testing.T) (ports.UserStore, ports.FriendStore)) {
	// setup returns the friend store and n fresh users.
	setup := func(t *testing.T, n int) (ports.FriendStore, []domain.User) {
		t.Helper()
		users, friends := newStores(t)
		us := make([]domain.User, n)
		for i := range us {
			us[i] = createUser(t, users, userSpec{})
		}
		return friends, us
	}
	// request is the update "from asks to" at time now.
	request := func(from, to domain.UserID, now time.Time) func(domain.Friendship) (domain.Friendship, error) {
		return func(f domain.Friendship) (domain.Friendship, error) {
			next, _, err := f.Request(from, to, now)
			return next, err
		}
	}
	accept := func(by domain.UserID, now time.Time) func(domain.Friendship) (domain.Friendship, error) {
		return func(f domain.Friendship) (domain.Friendship, error) { return f.Accept(by, now) }
	}
	assertFriendship := func(t *testing.T, want, got domain.Friendship) {
		t.Helper()
		assert.Equal(t, want.UserID, got.UserID, "UserID")
		assert.Equal(t, want.FriendID, got.FriendID, "FriendID")
		assert.Equal(t, want.Status, got.Status, "Status")
		assert.Equal(t, want.BlockedBy, got.BlockedBy, "BlockedBy")
		assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
		assertTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
	}

	t.Run("no relation is a zero Friendship, not an error", func(t *testing.T) {
		s, u := setup(t, 2)
		f, err := s.Friendship(t.Context(), u[0].ID, u[1].ID)
		require.NoError(t, err)
		assert.Equal(t, domain.FriendNone, f.Status)
		assert.False(t, f.Exists())
	})

	t.Run("UpdateFriendship creates the relation from the zero value", func(t *testing.T) {
		s, u := setup(t, 2)
		a, b := u[0].ID, u[1].ID
		var seen []domain.Friendship
		got, err := s.UpdateFriendship(t.Context(), a, b, func(f domain.Friendship) (domain.Friendship, error) {
			seen = append(seen, f)
			next, _, err := f.Request(a, b, at(1))
			return next, err
		})
		require.NoError(t, err)
		require.NotEmpty(t, seen, "fn must be called")
		assert.Equal(t, domain.FriendNone, seen[len(seen)-1].Status, "fn sees the zero value for a new pair")
		want := domain.Friendship{UserID: a, FriendID: b, Status: domain.FriendPending, CreatedAt: at(1), UpdatedAt: at(1)}
		assertFriendship(t, want, got)
		for _, order := range [][2]domain.UserID{{a, b}, {b, a}} {
			stored, err := s.Friendship(t.Context(), order[0], order[1])
			require.NoError(t, err)
			assertFriendship(t, want, stored)
		}
	})

	t.Run("either argument order names the same pair", func(t *testing.T) {
		s, u := setup(t, 2)
		a, b := u[0].ID, u[1].ID
		_, err := s.UpdateFriendship(t.Context(), a, b, request(a, b, at(1)))
		require.NoError(t, err)
		var seen domain.Friendship
		got, err := s.UpdateFriendship(t.Context(), b, a, func(f domain.Friendship) (domain.Friendship, error) {
			seen = f
			return f.Accept(b, at(2))
		})
		require.NoError(t, err)
		assert.Equal(t, domain.FriendPending, seen.Status, "fn sees the relation stored under the other order")
		assert.Equal(t, a, seen.UserID)
		want := domain.Friendship{UserID: a, FriendID: b, Status: domain.FriendAccepted, CreatedAt: at(1), UpdatedAt: at(2)}
		assertFriendship(t, want, got)
		stored, err := s.Friendship(t.Context(), a, b)
		require.NoError(t, err)
		assertFriendship(t, want, stored)
	})

	t.Run("a block keeps who blocked", func(t *testing.T) {
		s, u := setup(t, 2)
		a, b := u[0].ID, u[1].ID
		_, err := s.UpdateFriendship(t.Context(), a, b, request(a, b, at(1)))
		require.NoError(t, err)
		_, err = s.UpdateFriendship(t.Context(), a, b, func(f domain.Friendship) (domain.Friendship, error) {
			return f.Block(b, a, at(2))
		})
		require.NoError(t, err)
		stored, err := s.Friendship(t.Context(), b, a)
		require.NoError(t, err)
		assertFriendship(t, domain.Friendship{UserID: a, FriendID: b, Status: domain.FriendBlocked, BlockedBy: b, CreatedAt: at(1), UpdatedAt: at(2)}, stored)
	})

	t.Run("a result with Status none deletes the relation", func(t *testing.T) {
		s, u := setup(t, 2)
		a, b := u[0].ID, u[1].ID
		_, err := s.UpdateFriendship(t.Context(), a, b, func(f domain.Friendship) (domain.Friendship, error) {
			return f.Block(a, b, at(1))
		})
		require.NoError(t, err)
		got, err := s.UpdateFriendship(t.Context(), b, a, func(f domain.Friendship) (domain.Friendship, error) {
			return f.Unblock(a, at(2))
		})
		require.NoError(t, err)
		assert.Equal(t, domain.FriendNone, got.Status, "the returned relation")
		stored, err := s.Friendship(t.Context(), a, b)
		require.NoError(t, err)
		assert.Equal(t, domain.FriendNone, stored.Status, "the stored relation")

		// The pair starts afresh: the next update sees the zero value.
		var seen domain.Friendship
		_, err = s.UpdateFriendship(t.Context(), b, a, func(f domain.Friendship) (domain.Friendship, error) {
			seen = f
			next, _, err := f.Request(b, a, at(3))
			return next, err
		})
		require.NoError(t, err)
		assert.Equal(t, domain.FriendNone, seen.Status)
		stored, err = s.Friendship(t.Context(), a, b)
		require.NoError(t, err)
		assertFriendship(t, domain.Friendship{UserID: b, FriendID: a, Status: domain.FriendPending, CreatedAt: at(3), UpdatedAt: at(3)}, stored)
	})

	t.Run("an error from fn aborts the update and is returned as is", func(t *testing.T) {
		s, u := setup(t, 2)
		a, b := u[0].ID, u[1].ID
		_, err := s.UpdateFriendship(t.Context(), a, b, request(a, b, at(1)))
		require.NoError(t, err)
		cases := []struct {
			name string
			err  error
		}{
			{"plain error", errors.New("plain failure")},
			{"domain error", domain.Errorf(domain.KindConflict, "friend request already sent")},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.UpdateFriendship(t.Context(), b, a, func(f domain.Friendship) (domain.Friendship, error) {
					f.Status, f.UpdatedAt = domain.FriendAccepted, at(9)
					return f, c.err
				})
				assert.ErrorIs(t, err, c.err)
				assert.Equal(t, domain.KindOf(c.err), domain.KindOf(err), "kind kept")
				stored, err := s.Friendship(t.Context(), a, b)
				require.NoError(t, err)
				assertFriendship(t, domain.Friendship{UserID: a, FriendID: b, Status: domain.FriendPending, CreatedAt: at(1), UpdatedAt: at(1)}, stored)
			})
		}
		t.Run("on a new pair nothing is created", func(t *testing.T) {
			s, u := setup(t, 2)
			boom := errors.New("boom")
			_, err := s.UpdateFriendship(t.Context(), u[0].ID, u[1].ID, func(f domain.Friendship) (domain.Friendship, error) {
				next, _, _ := f.Request(u[0].ID, u[1].ID, at(1))
				return next, boom
			})
			assert.ErrorIs(t, err, boom)
			stored, err := s.Friendship(t.Context(), u[0].ID, u[1].ID)
			require.NoError(t, err)
			assert.Equal(t, domain.FriendNone, stored.Status)
		})
	})

	t.Run("pairs are independent", func(t *testing.T) {
		s, u := setup(t, 3)
		_, err := s.UpdateFriendship(t.Context(), u[0].ID, u[1].ID, request(u[0].ID, u[1].ID, at(1)))
		require.NoError(t, err)
		other, err := s.Friendship(t.Context(), u[0].ID, u[2].ID)
		require.NoError(t, err)
		assert.Equal(t, domain.FriendNone, other.Status)
		other, err = s.Friendship(t.Context(), u[1].ID, u[2].ID)
		require.NoError(t, err)
		assert.Equal(t, domain.FriendNone, other.Status)
	})

	t.Run("concurrent updates of one pair are serialised", func(t *testing.T) {
		s, u := setup(t, 2)
		a, b := u[0].ID, u[1].ID
		// Every update moves UpdatedAt one second on: a lost update leaves it short.
		const workers, each = 8, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x, y := a, b
				if w%2 == 1 {
					x, y = b, a
				}
				for range each {
					_, err := s.UpdateFriendship(t.Context(), x, y, func(f domain.Friendship) (domain.Friendship, error) {
						if !f.Exists() {
							return domain.Friendship{UserID: a, FriendID: b, Status: domain.FriendPending, CreatedAt: at(0), UpdatedAt: at(0)}, nil
						}
						f.UpdatedAt = f.UpdatedAt.Add(time.Second)
						return f, nil
					})
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		stored, err := s.Friendship(t.Context(), a, b)
		require.NoError(t, err)
		assertTime(t, at(workers*each-1), stored.UpdatedAt, "one second per update: %d updates", workers*each)
		assertTime(t, at(0), stored.CreatedAt, "created once")
	})

	t.Run("concurrent requests of one user: exactly one creates the request", func(t *testing.T) {
		s, u := setup(t, 2)
		a, b := u[0].ID, u[1].ID
		const workers = 10
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[w] = s.UpdateFriendship(t.Context(), a, b, request(a, b, at(w+1)))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			errorKind(t, domain.KindConflict, err)
		}
		assert.Equal(t, 1, ok, "successful requests")
		stored, err := s.Friendship(t.Context(), a, b)
		require.NoError(t, err)
		assert.Equal(t, domain.FriendPending, stored.Status)
		assert.Equal(t, a, stored.UserID)
	})

	t.Run("concurrent requests from both sides end accepted", func(t *testing.T) {
		users, s := newStores(t)
		const pairs = 10
		type result struct {
			f   domain.Friendship
			err error
		}
		results := make([][2]result, pairs)
		ids := make([][2]domain.UserID, pairs)
		for i := range ids {
			ids[i] = [2]domain.UserID{createUser(t, users, userSpec{}).ID, createUser(t, users, userSpec{}).ID}
		}
		var wg sync.WaitGroup
		for i := range pairs {
			for side := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					from, to := ids[i][side], ids[i][1-side]
					f, err := s.UpdateFriendship(t.Context(), from, to, request(from, to, at(1)))
					results[i][side] = result{f, err}
				}()
			}
		}
		wg.Wait()
		for i, r := range results {
			require.NoError(t, r[0].err, "pair %d", i)
			require.NoError(t, r[1].err, "pair %d", i)
			statuses := []domain.FriendshipStatus{r[0].f.Status, r[1].f.Status}
			assert.ElementsMatch(t, []domain.FriendshipStatus{domain.FriendPending, domain.FriendAccepted}, statuses,
				"pair %d: one request creates, the other accepts", i)
			stored, err := s.Friendship(t.Context(), ids[i][0], ids[i][1])
			require.NoError(t, err)
			assert.Equal(t, domain.FriendAccepted, stored.Status, "pair %d", i)
		}
	})

	t.Run("PendingRequests lists incoming pending requests oldest first with the requester", func(t *testing.T) {
		users, s := newStores(t)
		me := createUser(t, users, userSpec{})
		r1 := createUser(t, users, userSpec{})
		r2 := createUser(t, users, userSpec{})
		r3 := createUser(t, users, userSpec{})
		outgoing := createUser(t, users, userSpec{})
		friend := createUser(t, users, userSpec{})
		blocker := createUser(t, users, userSpec{})
		// Stored out of time order, so that "oldest first" is not insertion order.
		for _, r := range []struct {
			from domain.User
			at   time.Time
		}{{r3, at(30)}, {r1, at(10)}, {r2, at(20)}} {
			_, err := s.UpdateFriendship(t.Context(), r.from.ID, me.ID, request(r.from.ID, me.ID, r.at))
			require.NoError(t, err)
		}
		_, err := s.UpdateFriendship(t.Context(), me.ID, outgoing.ID, request(me.ID, outgoing.ID, at(5)))
		require.NoError(t, err)
		_, err = s.UpdateFriendship(t.Context(), friend.ID, me.ID, request(friend.ID, me.ID, at(6)))
		require.NoError(t, err)
		_, err = s.UpdateFriendship(t.Context(), me.ID, friend.ID, accept(me.ID, at(7)))
		require.NoError(t, err)
		_, err = s.UpdateFriendship(t.Context(), blocker.ID, me.ID, request(blocker.ID, me.ID, at(8)))
		require.NoError(t, err)
		_, err = s.UpdateFriendship(t.Context(), blocker.ID, me.ID, func(f domain.Friendship) (domain.Friendship, error) {
			return f.Block(blocker.ID, me.ID, at(9))
		})
		require.NoError(t, err)

		got, err := s.PendingRequests(t.Context(), me.ID)
		require.NoError(t, err)
		require.Len(t, got, 3, "r1, r2, r3; not the outgoing, accepted or blocked relation")
		for i, want := range []struct {
			user domain.User
			at   time.Time
		}{{r1, at(10)}, {r2, at(20)}, {r3, at(30)}} {
			assertSameUser(t, want.user, got[i].User, "request %d", i)
			assertTime(t, want.at, got[i].CreatedAt, "request %d", i)
		}

		out, err := s.PendingRequests(t.Context(), r1.ID)
		require.NoError(t, err)
		assert.Empty(t, out, "a requester has no incoming request")
		out, err = s.PendingRequests(t.Context(), outgoing.ID)
		require.NoError(t, err)
		require.Len(t, out, 1)
		assertSameUser(t, me, out[0].User)
	})

	t.Run("Friends lists accepted relations in both directions ordered by name", func(t *testing.T) {
		users, s := newStores(t)
		tag := token(6)
		me := createUser(t, users, userSpec{first: "Me" + tag})
		asked := createUser(t, users, userSpec{first: "Bb" + tag, last: "Second"})    // me asked, they accepted
		askedMe := createUser(t, users, userSpec{first: "Aa" + tag, last: "First"})   // they asked, me accepted
		twin1 := createUser(t, users, userSpec{first: "Cc" + tag, last: "Twin"})      // same name: ordered by id
		twin2 := createUser(t, users, userSpec{first: "Cc" + tag, last: "Twin"})      //
		pending := createUser(t, users, userSpec{first: "Aa" + tag, last: "Pending"}) // not a friend yet
		blocked := createUser(t, users, userSpec{first: "Aa" + tag, last: "Blocked"}) // not a friend

		befriend := func(from, to domain.User) {
			t.Helper()
			_, err := s.UpdateFriendship(t.Context(), from.ID, to.ID, request(from.ID, to.ID, at(1)))
			require.NoError(t, err)
			_, err = s.UpdateFriendship(t.Context(), to.ID, from.ID, accept(to.ID, at(2)))
			require.NoError(t, err)
		}
		befriend(me, asked)
		befriend(askedMe, me)
		befriend(me, twin1)
		befriend(twin2, me)
		_, err := s.UpdateFriendship(t.Context(), pending.ID, me.ID, request(pending.ID, me.ID, at(3)))
		require.NoError(t, err)
		befriend(me, blocked)
		_, err = s.UpdateFriendship(t.Context(), me.ID, blocked.ID, func(f domain.Friendship) (domain.Friendship, error) {
			return f.Block(blocked.ID, me.ID, at(4))
		})
		require.NoError(t, err)

		twins := []domain.UserID{twin1.ID, twin2.ID}
		if twins[1] < twins[0] {
			twins[0], twins[1] = twins[1], twins[0]
		}
		got, err := s.Friends(t.Context(), me.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.UserID{askedMe.ID, asked.ID, twins[0], twins[1]}, userIDs(got))
		if len(got) > 0 {
			assertSameUser(t, askedMe, got[0])
		}

		theirs, err := s.Friends(t.Context(), asked.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.UserID{me.ID}, userIDs(theirs), "the accepting side sees the friendship too")
		none, err := s.Friends(t.Context(), pending.ID)
		require.NoError(t, err)
		assert.Empty(t, none)
	})
}
