//! What the producer knows of the cluster's topics: their partitions and
//! leaders, the records waiting for them, and when to ask again.

use std::collections::{HashMap, VecDeque};
use std::ops::{Index, IndexMut};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_wire::messages::metadata::{
    MetadataRequest, MetadataRequestTopic, MetadataResponseTopic,
};
use kafka_wire::{ByteStr, ErrorClass, ErrorCode};

use super::timer::{min_time, passed};
use crate::partitioner::Modulus;
use crate::DeliveryId;

/// A record appended before its topic's partitions were known: copied,
/// and placed when they are.
#[derive(Debug)]
pub(super) struct PendingRecord {
    pub(super) id: DeliveryId,
    pub(super) partition: Option<i32>,
    pub(super) key: Option<Bytes>,
    pub(super) value: Option<Bytes>,
    pub(super) headers: Vec<(Bytes, Option<Bytes>)>,
    pub(super) timestamp: i64,
    pub(super) enqueued: Instant,
    pub(super) est: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TopicState {
    /// Not in a Metadata response yet.
    Unknown,
    Ready,
    /// The cluster says it does not exist.
    Missing,
    /// The cluster refused it for good (authorization, invalid name).
    Failed(ErrorCode),
}

#[derive(Debug)]
pub(super) struct Topic {
    pub(super) name: ByteStr,
    pub(super) state: TopicState,
    /// Its partitions (indices into the producer's partitions).
    pub(super) parts: Vec<usize>,
    pub(super) pending: VecDeque<PendingRecord>,
    /// The sticky partitioner's partition and batch generation.
    pub(super) sticky: Option<(u32, u64)>,
    pub(super) rr_next: u32,
    pub(super) last_error: Option<ErrorCode>,
    /// Metadata responses in a row that said the topic does not exist.
    pub(super) missing_answers: u32,
    /// The partition count, for the keyed partitioners' remainder.
    pub(super) modulus: Modulus,
}

/// What a Metadata response says of one topic.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TopicAnswer {
    /// Its partitions' leaders, in partition order (`None`: no leader now).
    Partitions(Vec<Option<i32>>),
    /// Partitions missing from the answer (or a topic being created).
    Incomplete,
    /// The topic does not exist.
    Missing(ErrorCode),
    /// A fault that may pass.
    Retriable(ErrorCode),
    /// A fault that ends the producer.
    Fatal(ErrorCode),
    /// Refused for good.
    Failed(ErrorCode),
}

/// Reads one topic of a Metadata response; `known(node)` says whether a
/// leader is a broker the response lists.
pub(super) fn read_topic(t: &MetadataResponseTopic, known: impl Fn(i32) -> bool) -> TopicAnswer {
    let code = ErrorCode::from(t.error_code);
    match code {
        ErrorCode::None => {}
        ErrorCode::UnknownTopicOrPartition | ErrorCode::UnknownTopicId => {
            return TopicAnswer::Missing(code)
        }
        c if c.class() == ErrorClass::Fatal => return TopicAnswer::Fatal(c),
        c if c.is_retriable() => return TopicAnswer::Retriable(c),
        c => return TopicAnswer::Failed(c),
    }
    let n = t.partitions.len();
    let mut leaders: Vec<Option<Option<i32>>> = vec![None; n];
    for p in &t.partitions {
        let Some(slot) = usize::try_from(p.partition_index)
            .ok()
            .and_then(|i| leaders.get_mut(i))
        else {
            continue;
        };
        *slot = Some((p.leader_id >= 0 && known(p.leader_id)).then_some(p.leader_id));
    }
    match leaders.into_iter().collect::<Option<Vec<_>>>() {
        Some(leaders) if !leaders.is_empty() => TopicAnswer::Partitions(leaders),
        _ => TopicAnswer::Incomplete,
    }
}

/// The topics records were appended to, by first appearance.
#[derive(Debug)]
pub(super) struct Topics {
    list: Vec<Topic>,
    index: HashMap<String, usize>,
    /// The topic of the last append: callers usually send many records to
    /// one topic in a row, and comparing the name is cheaper than hashing
    /// it.
    last: usize,
}

impl Topics {
    pub(super) fn new() -> Self {
        Topics {
            list: Vec::new(),
            index: HashMap::new(),
            last: usize::MAX,
        }
    }

    /// The index of `topic`, and whether it is new.
    #[inline]
    pub(super) fn intern(&mut self, topic: &str) -> (usize, bool) {
        if let Some(t) = self.list.get(self.last) {
            if t.name.as_bytes()[..] == *topic.as_bytes() {
                return (self.last, false);
            }
        }
        if let Some(&i) = self.index.get(topic) {
            self.last = i;
            return (i, false);
        }
        let i = self.list.len();
        self.list.push(Topic {
            name: ByteStr::from(topic.to_owned()),
            state: TopicState::Unknown,
            parts: Vec::new(),
            pending: VecDeque::new(),
            sticky: None,
            rr_next: 0,
            modulus: Modulus::default(),
            last_error: None,
            missing_answers: 0,
        });
        self.index.insert(topic.to_owned(), i);
        self.last = i;
        (i, true)
    }

    /// The index of `name`, if records were appended to it.
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, Topic> {
        self.list.iter()
    }

    /// A Metadata request for every topic.
    pub(super) fn request(&self, allow_auto_create: bool) -> MetadataRequest {
        MetadataRequest {
            topics: Some(
                self.list
                    .iter()
                    .map(|t| MetadataRequestTopic {
                        name: Some(t.name.clone()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            allow_auto_topic_creation: allow_auto_create,
            ..Default::default()
        }
    }
}

impl Index<usize> for Topics {
    type Output = Topic;
    fn index(&self, i: usize) -> &Topic {
        &self.list[i]
    }
}

impl IndexMut<usize> for Topics {
    fn index_mut(&mut self, i: usize) -> &mut Topic {
        &mut self.list[i]
    }
}

/// When to ask for metadata: wanted (a new topic, a moved leader, a
/// refresh due), one request at a time, at most once per backoff.
#[derive(Debug)]
pub(super) struct Schedule {
    pub(super) wanted: bool,
    pub(super) in_flight: bool,
    /// No request before this instant.
    hold: Option<Instant>,
    /// A refresh is due then (`metadata.max.age.ms`).
    refresh_at: Option<Instant>,
}

impl Schedule {
    pub(super) fn new() -> Self {
        Schedule {
            wanted: true,
            in_flight: false,
            hold: None,
            refresh_at: None,
        }
    }

    /// Whether a request should go out now.
    pub(super) fn due(&self) -> bool {
        self.wanted && !self.in_flight && self.hold.is_none()
    }

    /// A request went out; the next waits at least `backoff`.
    pub(super) fn sent(&mut self, now: Instant, backoff: Duration) {
        self.wanted = false;
        self.in_flight = true;
        self.hold = Some(now + backoff);
    }

    /// The request in flight was lost with its connection: ask again now.
    pub(super) fn lost(&mut self) {
        self.in_flight = false;
        self.wanted = true;
        self.hold = None;
    }

    /// An answer was applied: the next refresh is `max_age` away, or sooner
    /// (`retry`) when the answer was incomplete.
    pub(super) fn answered(&mut self, now: Instant, max_age: Duration, retry: Option<Duration>) {
        self.refresh_at = Some(now + max_age);
        if let Some(wait) = retry {
            self.wanted = true;
            self.hold = Some(now + wait);
        }
    }

    /// Clears the timers that passed; a refresh due makes a request wanted.
    pub(super) fn tick(&mut self, now: Instant) {
        passed(&mut self.hold, now);
        if passed(&mut self.refresh_at, now) {
            self.wanted = true;
        }
    }

    /// The next timer.
    pub(super) fn timer(&self) -> Option<Instant> {
        let mut t = None;
        for x in [self.hold, self.refresh_at].into_iter().flatten() {
            min_time(&mut t, x);
        }
        t
    }
}
