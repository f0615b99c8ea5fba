package audit

import (
	"errors"
	"time"

	"github.com/agentpassport/passport/internal/retry"
	"github.com/cenkalti/backoff/v4"
)

// resend is the resender: the one goroutine that delivers the spool,
// oldest record first, until Shutdown. After a failed round it waits,
// growing the wait exponentially (with jitter) up to its bound, at least
// as long as a Retry-After asked; ForceFlush cuts a wait short.
func (e *Exporter) resend() {
	defer e.wg.Done()
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(e.cfg.resendFirst),
		backoff.WithMaxInterval(e.cfg.resendMax),
		backoff.WithMaxElapsedTime(0), // never gives up: the spool is durable
	)
	for {
		n, changed := e.spool.watch()
		if n == 0 {
			select {
			case <-e.ctx.Done():
				return
			case <-changed:
			case <-e.flush:
			}
			continue
		}
		err := e.resendRound()
		if err == nil {
			bo.Reset()
			continue
		}
		if e.ctx.Err() != nil {
			return
		}
		wait := max(bo.NextBackOff(), retry.After(err))
		e.cfg.logger.Debug("audit: resending the spool failed", "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-e.ctx.Done():
			t.Stop()
			return
		case <-e.flush:
			t.Stop()
			bo.Reset()
		case <-t.C:
		}
	}
}

// resendRound delivers spooled records, oldest first, until the spool is
// empty (nil) or a record fails in a way that may pass (the error).
// Records the endpoint refuses for good, and corrupt ones, are counted
// and skipped.
func (e *Exporter) resendRound() error {
	for {
		ref, ok := e.spool.peek()
		if !ok {
			return nil
		}
		b, err := e.spool.read(ref)
		if err != nil {
			e.stats.torn.add(1)
			e.cfg.logger.Error("audit: skipping an unreadable spool record", "spans", ref.spans, "error", err)
			if err := e.spool.commit(ref); err != nil {
				return err
			}
			continue
		}
		spans := int64(b.spans)
		rejected, msg, err := e.post(e.ctx, b)
		switch {
		case err == nil:
			// Counted before the commit, which is what ForceFlush waits for.
			rejected = min(max(rejected, 0), spans)
			e.stats.resent.add(spans - rejected)
			if rejected > 0 {
				e.stats.rejected.add(rejected)
				e.cfg.logger.Warn("audit: endpoint rejected resent spans", "path", b.path, "rejected", rejected, "message", msg)
			}
			if err := e.spool.commit(ref); err != nil {
				// Delivered, but not recorded as such: sent again later.
				e.cfg.logger.Error("audit: recording a delivery in the spool failed", "error", err)
				return err
			}
		case errors.Is(err, ErrAgentMismatch), !spoolable(err):
			if errors.Is(err, ErrAgentMismatch) {
				e.stats.refused.add(spans)
			} else {
				e.stats.rejected.add(spans)
			}
			e.cfg.logger.Error("audit: spooled body refused", "path", b.path, "spans", spans, "error", err)
			if cerr := e.spool.commit(ref); cerr != nil {
				return cerr
			}
		default:
			return err
		}
	}
}
