//! The idempotence state machine: the producer id and epoch, when to ask
//! for them, and which batches may go out meanwhile (see
//! `docs/producer.md`).

use std::time::{Duration, Instant};

use kafka_wire::messages::init_producer_id::InitProducerIdRequest;
use kafka_wire::ErrorCode;

use super::batch::{Batch, BatchData};
use super::timer::{backoff, passed};

/// Failed epoch bumps before a fresh producer id is taken instead.
const MAX_BUMP_FAILURES: u32 = 2;

/// Where the producer stands with its producer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdState {
    /// Idempotence is off.
    Disabled,
    /// An id must be requested: a bump of the current one if `bump`.
    Needed { bump: bool },
    /// An InitProducerId request is in flight.
    Requesting { bump: bool },
    /// Producing with `producer_id` / `epoch`.
    Ready,
    /// A sequence gap or lost producer state: no new batches go out; batches
    /// in doubt are retried under the current id to resolve them; once no
    /// produce request is in flight and none is in doubt, re-initialise.
    Draining { bump: bool },
}

/// What an InitProducerId answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdAnswer {
    /// Not awaited (the request was given up on): ignored.
    Ignored,
    /// A new identity: sealed batches must be re-stamped.
    Ready,
    /// A fatal error code.
    Fatal(ErrorCode),
    /// Refused for now: asked again later.
    Retry,
}

/// The producer id, its epoch and the state of getting them.
#[derive(Debug)]
pub(super) struct Idempotence {
    pub(super) state: IdState,
    producer_id: i64,
    epoch: i16,
    /// No request before this instant (backoff after a refusal).
    hold: Option<Instant>,
    failures: u32,
    bump_failures: u32,
}

impl Idempotence {
    pub(super) fn new(enabled: bool) -> Self {
        Idempotence {
            state: if enabled {
                IdState::Needed { bump: false }
            } else {
                IdState::Disabled
            },
            producer_id: -1,
            epoch: -1,
            hold: None,
            failures: 0,
            bump_failures: 0,
        }
    }

    /// Whether idempotence is on.
    pub(super) fn enabled(&self) -> bool {
        self.state != IdState::Disabled
    }

    /// The current producer id and epoch (-1, -1 without one).
    pub(super) fn identity(&self) -> (i64, i16) {
        (self.producer_id, self.epoch)
    }

    /// Whether an InitProducerId request is wanted now (or once a
    /// connection is ready).
    pub(super) fn wants_id(&self) -> bool {
        matches!(self.state, IdState::Needed { .. })
    }

    /// Whether new batches may be sealed and sent.
    pub(super) fn may_seal(&self) -> bool {
        matches!(self.state, IdState::Ready | IdState::Disabled)
    }

    /// Whether batch `b` may be sent now: any batch when producing, only
    /// the sealed batches in doubt under the current identity while
    /// draining, none while an id is awaited.
    pub(super) fn may_send(&self, b: &Batch) -> bool {
        match self.state {
            IdState::Disabled | IdState::Ready => true,
            IdState::Draining { .. } => {
                b.in_doubt
                    && b.identity == Some(self.identity())
                    && matches!(b.data, BatchData::Sealed(_))
            }
            IdState::Needed { .. } | IdState::Requesting { .. } => false,
        }
    }

    /// The InitProducerId request to send at `version`, when one is due.
    pub(super) fn request(&mut self, version: i16) -> Option<(InitProducerIdRequest, bool)> {
        let IdState::Needed { bump } = self.state else {
            return None;
        };
        if self.hold.is_some() {
            return None;
        }
        let bump = bump && version >= 3 && self.producer_id >= 0;
        let body = InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: i32::MAX,
            producer_id: if bump { self.producer_id } else { -1 },
            producer_epoch: if bump { self.epoch } else { -1 },
            ..Default::default()
        };
        self.state = IdState::Requesting { bump };
        Some((body, bump))
    }

    /// The request for an id was lost with its connection: ask again.
    pub(super) fn request_lost(&mut self, bump: bool) {
        if matches!(self.state, IdState::Requesting { .. }) {
            self.state = IdState::Needed { bump };
        }
    }

    /// Applies an InitProducerId answer (`bump`: the request asked for an
    /// epoch bump).
    pub(super) fn answer(
        &mut self,
        code: ErrorCode,
        identity: (i64, i16),
        bump: bool,
        now: Instant,
        retry_backoff: (Duration, Duration),
    ) -> IdAnswer {
        if !matches!(self.state, IdState::Requesting { .. }) {
            return IdAnswer::Ignored;
        }
        if !code.is_error() && identity.0 >= 0 {
            (self.producer_id, self.epoch) = identity;
            self.state = IdState::Ready;
            self.failures = 0;
            self.bump_failures = 0;
            return IdAnswer::Ready;
        }
        if code.class() == kafka_wire::ErrorClass::Fatal {
            return IdAnswer::Fatal(code);
        }
        let coordinator_busy = matches!(
            code,
            ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotCoordinator
                | ErrorCode::ConcurrentTransactions
        ) || code.is_retriable();
        let bump_again = if bump {
            // Some brokers refuse a client-side bump: after a few refusals
            // (or at once for a non-retriable refusal) take a fresh id.
            self.bump_failures += 1;
            coordinator_busy && self.bump_failures < MAX_BUMP_FAILURES
        } else {
            false
        };
        self.failures += 1;
        self.state = IdState::Needed { bump: bump_again };
        self.hold = if bump && !bump_again {
            // Fresh id at once: the bump was refused, not overloaded.
            None
        } else {
            let (base, max) = retry_backoff;
            Some(now + backoff(base, max, self.failures))
        };
        IdAnswer::Retry
    }

    /// A sequence gap or lost producer state: drain, then take a new epoch
    /// (`bump`) or a fresh id.
    pub(super) fn start_reset(&mut self, bump: bool) {
        self.state = match self.state {
            IdState::Ready => IdState::Draining { bump },
            IdState::Draining { bump: b } => IdState::Draining { bump: b && bump },
            IdState::Needed { bump: b } => IdState::Needed { bump: b && bump },
            other => other,
        };
    }

    /// Ends a drain once no produce request is in flight and no batch of
    /// the current identity is in doubt.
    pub(super) fn check_drained(&mut self, in_flight: bool, in_doubt: impl FnOnce() -> bool) {
        let IdState::Draining { bump } = self.state else {
            return;
        };
        if !in_flight && !in_doubt() {
            self.state = IdState::Needed { bump };
        }
    }

    /// Producing with `identity` (for tests that skip the request).
    #[cfg(test)]
    pub(super) fn set_ready(&mut self, identity: (i64, i16)) {
        (self.producer_id, self.epoch) = identity;
        self.state = IdState::Ready;
    }

    /// Clears the request backoff once passed.
    pub(super) fn tick(&mut self, now: Instant) {
        passed(&mut self.hold, now);
    }

    /// When the request backoff ends, if one runs.
    pub(super) fn timer(&self) -> Option<Instant> {
        self.hold
    }
}
