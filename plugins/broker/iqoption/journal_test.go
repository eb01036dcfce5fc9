package iqoption_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
)

// A restarted plugin process (a new Adapter on the same DataDir) knows the
// orders of the previous one: the same client order id returns the first
// order, nothing is sent twice, and the result still arrives.
func TestJournalKeepsOrdersAcrossARestart(t *testing.T) {
	fk, uid := startFake(t, iqfake.Config{Seed: 4})
	dir := t.TempDir()
	withDir := func(c *iqoption.Config) { c.DataDir = dir; fastBackoff(c) }
	ctx := context.Background()

	first := adapter(t, fk, withDir).Factory()()
	_, err := first.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds()})
	require.NoError(t, err)
	placed, err := first.PlaceOrder(ctx, order("keep", "EURUSD-OTC", time.Minute, "10"))
	require.NoError(t, err)
	require.NoError(t, first.Close(ctx))

	fk.SetFaults(iqfake.Faults{ForceResult: "win"})
	second := open(t, adapter(t, fk, withDir))
	again, err := second.PlaceOrder(ctx, order("keep", "EURUSD-OTC", time.Minute, "10"))
	require.NoError(t, err)
	assert.Equal(t, placed.BrokerOrderID, again.BrokerOrderID)
	assert.Len(t, fk.Positions(uid), 1, "not sent again")

	fk.Advance(2 * time.Minute)
	barrier(t, second)
	got, err := second.GetOrder(ctx, "keep")
	require.NoError(t, err)
	assert.Equal(t, broker.Won, got.State)
	assert.Equal(t, "9.2", got.Profit.String())

	third := open(t, adapter(t, fk, withDir))
	final, err := third.GetOrder(ctx, "keep")
	require.NoError(t, err)
	assert.Equal(t, got.State, final.State, "the final state is journaled too")
	assert.Equal(t, got.Profit.String(), final.Profit.String())
}

// An order whose answer was lost, then the process died: the next process
// finds its position on Open and never sends it again.
func TestJournalResolvesAnUnknownOrderAfterARestart(t *testing.T) {
	fk, uid := startFake(t, iqfake.Config{Seed: 4})
	dir := t.TempDir()
	withDir := func(c *iqoption.Config) { c.DataDir = dir; fastBackoff(c) }
	ctx := context.Background()

	first := adapter(t, fk, withDir).Factory()()
	_, err := first.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds()})
	require.NoError(t, err)
	fk.SetFaults(iqfake.Faults{DropBeforeAnswer: true, RefuseWS: true})
	_, err = first.PlaceOrder(ctx, order("lost", "EURUSD-OTC", time.Minute, "10"))
	require.ErrorIs(t, err, broker.ErrUnavailable)
	require.NoError(t, first.Close(ctx)) // the process "dies" before it could reconcile
	fk.SetFaults(iqfake.Faults{})

	second := open(t, adapter(t, fk, withDir))
	got, err := second.GetOrder(ctx, "lost")
	require.NoError(t, err)
	assert.Equal(t, broker.Open, got.State)
	ps := fk.Positions(uid)
	require.Len(t, ps, 1)
	again, err := second.PlaceOrder(ctx, order("lost", "EURUSD-OTC", time.Minute, "10"))
	require.NoError(t, err)
	assert.Equal(t, got.BrokerOrderID, again.BrokerOrderID)
	assert.Len(t, fk.Positions(uid), 1)
}

func TestJournalSkipsATornLine(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{Seed: 4})
	dir := t.TempDir()
	withDir := func(c *iqoption.Config) { c.DataDir = dir }
	s := open(t, adapter(t, fk, withDir))
	_, err := s.PlaceOrder(context.Background(), order("a", "EURUSD-OTC", time.Minute, "1"))
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "orders-*-practice.jsonl"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	f, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"k":"place","id":"b","sym`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s2 := open(t, adapter(t, fk, withDir))
	_, err = s2.GetOrder(context.Background(), "a")
	assert.NoError(t, err)
	_, err = s2.GetOrder(context.Background(), "b")
	assert.ErrorIs(t, err, broker.ErrOrderNotFound)
}

// A long journal is compacted on load: final orders older than a week go,
// everything else survives.
func TestJournalCompaction(t *testing.T) {
	fk, uid := startFake(t, iqfake.Config{Seed: 4})
	dir := t.TempDir()
	path := filepath.Join(dir, "orders-"+itoa(uid)+"-practice.jsonl")
	var lines []byte
	old := time.Now().Add(-30 * 24 * time.Hour).UnixMilli()
	for i := 0; i < 3000; i++ {
		id := "old-" + itoa(int64(i))
		lines = append(lines, []byte(`{"k":"place","id":"`+id+`","symbol":"EURUSD-OTC","side":1,"amount":"1","expiry_s":60,"active":76,"type":3,"exp":1,"dir":"call"}`+"\n"+
			`{"k":"final","id":"`+id+`","state":3,"profit":"0.92","closed_ms":`+itoa(old)+`}`+"\n")...)
	}
	lines = append(lines, []byte(`{"k":"place","id":"recent","symbol":"EURUSD-OTC","side":1,"amount":"1","expiry_s":60,"active":76,"type":3,"exp":1,"dir":"call"}`+"\n"+
		`{"k":"final","id":"recent","state":4,"profit":"-1","closed_ms":`+itoa(time.Now().UnixMilli())+`}`+"\n")...)
	require.NoError(t, os.WriteFile(path, lines, 0o600))

	s := open(t, adapter(t, fk, func(c *iqoption.Config) { c.DataDir = dir }))
	got, err := s.GetOrder(context.Background(), "recent")
	require.NoError(t, err)
	assert.Equal(t, broker.Lost, got.State)
	_, err = s.GetOrder(context.Background(), "old-7")
	assert.ErrorIs(t, err, broker.ErrOrderNotFound)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(1000), "rewritten with the recent order only")
}
