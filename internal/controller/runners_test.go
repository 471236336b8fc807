package controller

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/audicia/audicia/api/v1alpha1"
)

// TestRestartDoesNotHoldTheRunners checks that while a source's old runner
// makes its final flush, on a spec change, the other runners' readiness
// and wake-ups are not held up.
func TestRestartDoesNotHoldTheRunners(t *testing.T) {
	rs := newRunners(runnerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	rs.ctx = ctx
	close(rs.started)
	flushing := make(chan struct{})
	old := &runner{generation: 1, cancel: func() {}, done: flushing, health: runnerHealth{started: true}}
	rs.runners["audit"] = old

	src := &v1alpha1.AudiciaSource{}
	src.Name, src.Generation = "audit", 2
	src.Spec.File = &v1alpha1.FileSource{}
	restarted := make(chan error, 1)
	go func() {
		_, err := rs.ensure(context.Background(), src, nil)
		restarted <- err
	}()

	checked := make(chan error, 1)
	go func() {
		rs.rbacChanged()
		checked <- rs.ReadyCheck(nil)
	}()
	select {
	case err := <-checked:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the readiness check waited for the old runner's final flush")
	}

	cancel() // the manager stops while the old runner flushes
	close(flushing)
	select {
	case err := <-restarted:
		assert.ErrorIs(t, err, context.Canceled, "no runner starts once the manager stops")
	case <-time.After(5 * time.Second):
		t.Fatal("the restart did not end")
	}
	assert.Empty(t, rs.runners)
}
