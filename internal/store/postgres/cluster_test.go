package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/store"
)

func instanceByName(t *testing.T, s *Store, name string) (store.Instance, bool) {
	t.Helper()
	ins, err := s.Instances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.Name == name {
			return in, true
		}
	}
	return store.Instance{}, false
}

// A name is held by one live process at a time; when that process's store
// closes (or its connection dies) the name is free and it is seen dead.
func TestJoinOneProcessPerName(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	ctx := context.Background()
	if err := a.Join(ctx, "relay-1"); err != nil {
		t.Fatal(err)
	}
	err := b.Join(ctx, "relay-1")
	if !errors.Is(err, store.ErrInstanceLive) {
		t.Fatalf("second process under the same name: %v; want ErrInstanceLive", err)
	}
	t.Logf("refused: %v", err)
	if err := b.Join(ctx, "relay-2"); err != nil {
		t.Fatal(err)
	}
	if !a.Joined() || !b.Joined() {
		t.Error("Joined false after Join")
	}
	in, ok := instanceByName(t, b, "relay-1")
	if !ok || !in.Live || !in.Registered || in.PID == 0 {
		t.Errorf("relay-1 as seen by b: %+v", in)
	}
	a.Close()
	waitFor(t, func() bool {
		in, ok := instanceByName(t, b, "relay-1")
		return ok && !in.Live
	})
	// Now free: a new process may take it.
	c := db.open(t)
	if err := c.Join(ctx, "relay-1"); err != nil {
		t.Fatalf("name of a closed store: %v", err)
	}
	if in, _ := instanceByName(t, b, "relay-1"); !in.Live {
		t.Errorf("relay-1 after re-join: %+v", in)
	}
}

// A process killed without closing anything: its session ends, and the
// others see it dead at once, with its claims.
func TestDeadInstanceSeenAtOnce(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	ctx := context.Background()
	if err := a.Join(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Join(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	var ms []*store.Message
	for i := range 5 {
		ms = append(ms, testMessage(i))
	}
	insertMessages(t, a, ms...)
	now := time.Now()
	mustUpdate(t, a, func(tx store.Tx) error {
		_, err := tx.ClaimDue(now.Add(time.Hour), "a", now.Add(time.Hour), 3)
		return err
	})
	in, _ := instanceByName(t, b, "a")
	if !in.Live || in.Claims != 3 || in.OldestClaim.IsZero() {
		t.Fatalf("a before it dies: %+v", in)
	}
	// Kill a's member connection from the server side, as the death of
	// its process would end it, and keep it from coming back.
	a.mmu.Lock()
	a.member.cancel()
	<-a.member.done
	a.mmu.Unlock()
	start := time.Now()
	waitFor(t, func() bool {
		in, _ := instanceByName(t, b, "a")
		return !in.Live
	})
	t.Logf("a seen dead %v after its connection ended", time.Since(start))
	in, _ = instanceByName(t, b, "a")
	if in.Claims != 3 {
		t.Errorf("dead a's claims: %d; want 3", in.Claims)
	}
}

// The owner of claims that never joined (a process of an older version) is
// listed, not live and not registered.
func TestUnregisteredOwner(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t)
	insertMessages(t, s, testMessage(1))
	now := time.Now()
	mustUpdate(t, s, func(tx store.Tx) error {
		_, err := tx.ClaimDue(now.Add(time.Hour), "old", now.Add(time.Hour), 1)
		return err
	})
	in, ok := instanceByName(t, s, "old")
	if !ok || in.Live || in.Registered || in.Claims != 1 {
		t.Errorf("unregistered owner: %+v (listed %v)", in, ok)
	}
}

// Mail that becomes due on one instance wakes the others within a second;
// mail claimed for its first attempt on the spot (TryClaim's path) wakes
// nobody.
func TestWakeOnQueued(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	ctx := context.Background()
	if err := a.Join(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Join(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	drain := func() {
		for {
			select {
			case <-b.Wake():
			case <-time.After(300 * time.Millisecond):
				return
			}
		}
	}
	drain()
	claimed := testMessage(1)
	claimed.State, claimed.Owner = store.Sending, "a"
	insertMessages(t, a, claimed)
	select {
	case <-b.Wake():
		t.Error("woken by a message its instance claimed at once")
	case <-time.After(500 * time.Millisecond):
	}
	for i, fn := range []func(tx store.Tx) error{
		func(tx store.Tx) error { return tx.InsertMessage(testMessage(2), bytes.NewReader([]byte("x"))) },
		func(tx store.Tx) error {
			m, err := tx.Message(claimed.ID)
			if err != nil {
				return err
			}
			m.State, m.Owner = store.Queued, ""
			return tx.UpdateMessage(m, store.Sending)
		},
	} {
		start := time.Now()
		mustUpdate(t, a, fn)
		select {
		case <-b.Wake():
			t.Logf("case %d: woken %v after the commit", i, time.Since(start))
		case <-time.After(time.Second):
			t.Errorf("case %d: not woken within a second", i)
		}
	}
	// A failed update wakes nobody.
	drain()
	_ = a.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertMessage(testMessage(3), bytes.NewReader([]byte("x"))); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	select {
	case <-b.Wake():
		t.Error("woken by a rolled-back update")
	case <-time.After(500 * time.Millisecond):
	}
}

// After its member connection is terminated, an instance re-joins by
// itself, is told to look for work (notifications may have been missed),
// and is live again.
func TestRejoinAfterTerminate(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a := db.open(t)
	ctx := context.Background()
	name := fmt.Sprintf("rejoin-%d", time.Now().UnixNano())
	if err := a.Join(ctx, name); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Wake():
	default:
	}
	conn, err := pgx.Connect(ctx, db.base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1`, "egressguard "+name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no member connection to terminate")
	}
	waitFor(t, func() bool { return !a.Joined() })
	waitFor(t, func() bool { return a.Joined() })
	select {
	case <-a.Wake():
	case <-time.After(time.Second):
		t.Error("no wake-up after re-joining")
	}
	if in, _ := instanceByName(t, a, name); !in.Live {
		t.Errorf("after re-join: %+v", in)
	}
}

func withMembershipTimes(heartbeat, stale time.Duration) Option {
	return func(o *options) { o.heartbeat, o.stale = heartbeat, stale }
}

// A steady flow of notifications must not starve the heartbeat: a live
// instance stays live however busy the queue is.
func TestHeartbeatUnderNotifications(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	times := withMembershipTimes(200*time.Millisecond, time.Second)
	a, b := db.open(t, times), db.open(t, times)
	ctx := context.Background()
	if err := a.Join(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Join(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	stop := time.After(3 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		insertMessages(t, a, testMessage(i)) // queued: notifies b
		if in, _ := instanceByName(t, a, "b"); !in.Live {
			t.Fatalf("live instance b declared dead under a flow of notifications: %+v", in)
		}
	}
}

// The channel is a valid identifier whatever the schema's name.
func TestLongSchemaName(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	long := strings.Repeat("s", 60)
	admin(t, db.base, "CREATE SCHEMA "+long)
	t.Cleanup(func() { admin(t, db.base, "DROP SCHEMA "+long+" CASCADE") })
	s, err := Open(context.Background(), withParams(t, db.base, map[string]string{"search_path": long}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Join(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertMessage(testMessage(1), bytes.NewReader([]byte("x"))) }); err != nil {
		t.Fatalf("queueing under a 60-byte schema name: %v", err)
	}
}
