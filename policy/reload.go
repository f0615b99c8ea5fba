package policy

import (
	"context"
	"log/slog"
	"time"
)

// Reload loads the engine's source again and, if the documents changed
// and every policy in them validates, swaps the new set in at once:
// decisions in progress finish with the old set, later ones use the
// new. If the source fails or a policy is refused, the current set stays
// and Reload returns the error ([*LoadError] for a policy), which
// [Engine.Status] reports too. Reloads are serialized.
func (e *Engine) Reload(ctx context.Context) error {
	if e.closed.Load() {
		return ErrClosed
	}
	return e.load(ctx)
}

// load reads the source and swaps in the set it holds.
func (e *Engine) load(ctx context.Context) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	err := e.loadLocked(ctx)
	e.errMu.Lock()
	e.lastErr = err
	e.errMu.Unlock()
	if err != nil {
		e.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "policy: update refused, keeping the current policies",
			slog.String("error", err.Error()))
	}
	return err
}

func (e *Engine) loadLocked(ctx context.Context) error {
	snap, err := e.src.Load(ctx)
	if err != nil {
		return err
	}
	dg := digestOf(&snap)
	if cur := e.cur.Load(); cur != nil && cur.digest == dg && cur.version == snap.Version {
		return nil
	}
	idx, err := compile(e.validator, &snap)
	if err != nil {
		return err
	}
	e.revision++
	ps := &policySet{idx: idx, digest: dg, version: snap.Version, revision: e.revision, loadedAt: e.cfg.now()}
	e.cur.Store(ps)
	e.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "policy: policies loaded",
		slog.Uint64("revision", ps.revision), slog.Int("policies", len(idx.entries)),
		slog.String("version", ps.version))
	return nil
}

// watch polls the source every cfg.watch until ctx ends.
func (e *Engine) watch(ctx context.Context) {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.watch)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = e.load(ctx)
		}
	}
}
