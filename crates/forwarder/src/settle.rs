//! Which request each delivery belongs to, counted per batch report.
//!
//! A worker's sink sends every record detached and learns outcomes from the
//! producer's per-batch delivery reports. A request's records are sent one
//! after the other within one `submit` (nothing else sends in between on
//! the worker's thread), and delivery ids are ascending per producer, so a
//! request's ids lie in one range no other request's ids fall in. The
//! [`Table`] keeps the ranges of the requests still waiting, ordered by
//! first id, and counts the outcomes of each report against them; a
//! request is settled when each of its records has an outcome, failed if
//! any of them was not persisted for a reason that may pass (the client
//! resends), and with a list of the records refused for good (which the
//! sink dead-letters) otherwise.

use std::collections::VecDeque;
use std::task::{Poll, Waker};

use kafka_net::DeliveryId;

/// The requests of one worker waiting for their records' outcomes.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// By `first`, ascending; ranges do not overlap.
    entries: VecDeque<Entry>,
}

#[derive(Debug)]
struct Entry {
    /// Delivery ids `first..end` are this request's.
    first: u64,
    end: u64,
    /// Records without an outcome yet.
    remaining: u64,
    /// Why a record is not persisted (the first reason seen).
    failure: Option<String>,
    /// Records the broker refused for good.
    refused: Vec<Refused>,
    waker: Option<Waker>,
}

/// A record refused for good: it would fail again if resent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Its delivery id.
    pub(crate) id: u64,
    /// The topic it was meant for.
    pub(crate) topic: String,
    /// The outcome's class.
    pub(crate) kind: RefusedKind,
    /// Why, for the dead letter and the response.
    pub(crate) message: String,
}

/// Why a record was refused for good; [`RefusedKind::code`] is the reason
/// code of its dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefusedKind {
    UnknownPartition,
    UnknownTopic,
    TooLarge,
    InvalidRecord,
    InvalidTopic,
    TopicAuthorization,
}

impl RefusedKind {
    /// The dead letter's reason code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            RefusedKind::UnknownPartition => "unknown_partition",
            RefusedKind::UnknownTopic => "unknown_topic",
            RefusedKind::TooLarge => "message_too_large",
            RefusedKind::InvalidRecord => "invalid_record",
            RefusedKind::InvalidTopic => "invalid_topic",
            RefusedKind::TopicAuthorization => "topic_authorization_failed",
        }
    }
}

/// A settled request: every record has an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Settled {
    /// Why a record is not (or may not be) persisted, when one is not and
    /// a resend may succeed: the request is answered 503.
    pub(crate) failure: Option<String>,
    /// The records refused for good.
    pub(crate) refused: Vec<Refused>,
}

/// Names a request in its [`Table`]: its first delivery id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key(u64);

impl Table {
    /// Registers a request whose `count` records got ids within
    /// `first..=last` (all of them, unless an id was given out and the
    /// record then refused). Ids are given out in ascending order, so a
    /// request registers after every request with lower ids.
    pub(crate) fn register(&mut self, first: DeliveryId, last: DeliveryId, count: u64) -> Key {
        let (first, end) = (first.0, last.0 + 1);
        debug_assert!(first < end && count <= end - first);
        let entry = Entry {
            first,
            end,
            remaining: count,
            failure: None,
            refused: Vec::new(),
            waker: None,
        };
        let at = self.entries.partition_point(|e| e.first < first);
        debug_assert!(self.entries.get(at).is_none_or(|e| e.first >= end));
        self.entries.insert(at, entry);
        Key(first)
    }

    /// Counts the outcome of a batch's records: all persisted when
    /// `failure` is `None`, else none of them (with that reason). Ids of no
    /// waiting request (refused or timed out) are ignored. Wakes the
    /// requests whose last outcome this is.
    pub(crate) fn report(&mut self, ids: &[DeliveryId], failure: Option<&str>) {
        self.count(ids, |entry, _| {
            if let Some(reason) = failure {
                entry.failure.get_or_insert_with(|| reason.to_owned());
            }
        });
    }

    /// Counts the outcome of records the broker refused for good (see
    /// [`Refused`]): their requests get them back when settled.
    pub(crate) fn report_refused(
        &mut self,
        ids: &[DeliveryId],
        topic: &str,
        kind: RefusedKind,
        message: &str,
    ) {
        self.count(ids, |entry, id| {
            entry.refused.push(Refused {
                id,
                topic: topic.to_owned(),
                kind,
                message: message.to_owned(),
            });
        });
    }

    /// Counts `ids` against their requests, calling `each` for every id
    /// of a waiting request, and wakes the requests now complete.
    fn count(&mut self, ids: &[DeliveryId], mut each: impl FnMut(&mut Entry, u64)) {
        let mut i = 0;
        while i < ids.len() {
            let id = ids[i].0;
            let at = self.entries.partition_point(|e| e.end <= id);
            let Some(entry) = self.entries.get_mut(at).filter(|e| e.first <= id) else {
                i += 1;
                continue;
            };
            // A batch's ids ascend: take this request's run at once.
            let start = i;
            while i < ids.len() && (entry.first..entry.end).contains(&ids[i].0) {
                i += 1;
            }
            let counted = (i - start) as u64;
            entry.remaining = entry.remaining.saturating_sub(counted);
            for id in &ids[start..i] {
                each(entry, id.0);
            }
            if entry.remaining == 0 {
                if let Some(waker) = entry.waker.take() {
                    waker.wake();
                }
            }
        }
    }

    /// `Ready` with the outcome once every record of the request has one
    /// (the request is then forgotten); otherwise keeps `waker` to wake
    /// when that happens. A forgotten request is ready with a failure
    /// saying so.
    pub(crate) fn poll(&mut self, key: Key, waker: &Waker) -> Poll<Settled> {
        let Some(at) = self.find(key) else {
            return Poll::Ready(Settled {
                failure: Some("request no longer tracked".to_owned()),
                refused: Vec::new(),
            });
        };
        let entry = &mut self.entries[at];
        if entry.remaining == 0 {
            let entry = self.entries.remove(at).expect("found");
            return Poll::Ready(Settled {
                failure: entry.failure,
                refused: entry.refused,
            });
        }
        match &mut entry.waker {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        Poll::Pending
    }

    /// Stops tracking a request (it timed out): later outcomes of its
    /// records are ignored.
    pub(crate) fn forget(&mut self, key: Key) {
        if let Some(at) = self.find(key) {
            self.entries.remove(at);
        }
    }

    /// Requests waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn find(&self, key: Key) -> Option<usize> {
        let at = self.entries.partition_point(|e| e.first < key.0);
        (self.entries.get(at)?.first == key.0).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn ids(r: impl IntoIterator<Item = u64>) -> Vec<DeliveryId> {
        r.into_iter().map(DeliveryId).collect()
    }

    #[test]
    fn a_request_over_several_batches_settles_when_all_are_reported() {
        let mut t = Table::default();
        let a = t.register(DeliveryId(10), DeliveryId(19), 10);
        let (woken, w) = waker();
        assert!(t.poll(a, &w).is_pending());
        // Three partitions' batches, each with some of the ids.
        t.report(&ids([10, 13, 16, 19]), None);
        t.report(&ids([11, 14, 17]), None);
        assert!(t.poll(a, &w).is_pending());
        assert_eq!(woken.0.load(Ordering::SeqCst), 0);
        t.report(&ids([12, 15, 18]), None);
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert_eq!(t.poll(a, &w).map(|s| s.failure), Poll::Ready(None));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_failed_batch_fails_only_the_requests_it_holds() {
        let mut t = Table::default();
        let a = t.register(DeliveryId(0), DeliveryId(3), 4);
        let b = t.register(DeliveryId(4), DeliveryId(7), 4);
        let c = t.register(DeliveryId(8), DeliveryId(9), 2);
        let (_, w) = waker();
        // One batch ends `a` and starts `b`; it fails.
        t.report(&ids([0, 1, 2]), None);
        t.report(&ids([3, 4, 5]), Some("not persisted: x"));
        t.report(&ids([6, 7, 8, 9]), None);
        assert_eq!(
            t.poll(a, &w).map(|s| s.failure),
            Poll::Ready(Some("not persisted: x".into()))
        );
        assert_eq!(
            t.poll(b, &w).map(|s| s.failure),
            Poll::Ready(Some("not persisted: x".into()))
        );
        assert_eq!(t.poll(c, &w).map(|s| s.failure), Poll::Ready(None));
    }

    #[test]
    fn the_first_failure_is_kept() {
        let mut t = Table::default();
        let a = t.register(DeliveryId(0), DeliveryId(1), 2);
        t.report(&ids([0]), Some("first"));
        t.report(&ids([1]), Some("second"));
        let (_, w) = waker();
        assert_eq!(
            t.poll(a, &w).map(|s| s.failure),
            Poll::Ready(Some("first".into()))
        );
    }

    #[test]
    fn outcomes_of_forgotten_or_refused_requests_are_ignored() {
        let mut t = Table::default();
        // Ids 0..=4 went to a request refused half-way: never registered.
        let a = t.register(DeliveryId(5), DeliveryId(6), 2);
        let b = t.register(DeliveryId(7), DeliveryId(8), 2);
        t.forget(a);
        t.report(&ids([0, 1, 2, 3, 4, 5, 6]), Some("lost"));
        let (_, w) = waker();
        assert!(t.poll(b, &w).is_pending());
        t.report(&ids([7, 8]), None);
        assert_eq!(t.poll(b, &w).map(|s| s.failure), Poll::Ready(None));
        assert_eq!(t.len(), 0);
        assert!(
            t.poll(a, &w).is_ready(),
            "a forgotten request is not pending"
        );
    }

    #[test]
    fn records_refused_for_good_come_back_with_their_request() {
        let mut t = Table::default();
        let a = t.register(DeliveryId(0), DeliveryId(3), 4);
        let b = t.register(DeliveryId(4), DeliveryId(5), 2);
        t.report(&ids([0, 2]), None);
        t.report_refused(&ids([1, 3, 4]), "t", RefusedKind::UnknownPartition, "p 9");
        t.report(&ids([5]), None);
        let (_, w) = waker();
        let Poll::Ready(settled) = t.poll(a, &w) else {
            panic!("a is settled");
        };
        assert_eq!(settled.failure, None);
        let got: Vec<u64> = settled.refused.iter().map(|r| r.id).collect();
        assert_eq!(got, [1, 3]);
        assert_eq!(settled.refused[0].kind.code(), "unknown_partition");
        let Poll::Ready(settled) = t.poll(b, &w) else {
            panic!("b is settled");
        };
        assert_eq!(settled.refused.len(), 1);
        assert_eq!(settled.refused[0].topic, "t");
    }

    #[test]
    fn a_request_is_settled_by_the_count_of_its_records() {
        let mut t = Table::default();
        // Id 3 was given out to a record that was then refused.
        let a = t.register(DeliveryId(1), DeliveryId(5), 4);
        t.report(&ids([1, 2, 4, 5]), None);
        let (_, w) = waker();
        assert_eq!(t.poll(a, &w).map(|s| s.failure), Poll::Ready(None));
    }

    #[test]
    fn ids_out_of_order_are_still_counted() {
        let mut t = Table::default();
        let a = t.register(DeliveryId(0), DeliveryId(2), 3);
        let b = t.register(DeliveryId(3), DeliveryId(5), 3);
        t.report(&ids([5, 0, 4, 1]), None);
        t.report(&ids([3, 2]), None);
        let (_, w) = waker();
        assert_eq!(t.poll(a, &w).map(|s| s.failure), Poll::Ready(None));
        assert_eq!(t.poll(b, &w).map(|s| s.failure), Poll::Ready(None));
    }
}
