//! The router's output: records that point into the request body.
//!
//! A [`Routed`] is filled by [`crate::Router::route`] and reused across calls
//! so that routing allocates nothing once its buffers have grown. It holds
//!
//! - the request body (`Bytes`, shared, never copied),
//! - an arena with the few bytes the router wrote (enrichment, generated ids,
//!   sanitised topics, Avro datums, dead-letter values),
//! - the router's configuration strings (topics, header names),
//!
//! and records whose parts are spans into those three. A record's value is a
//! short list of chunks: for JSON pass-through, typically the event's bytes up
//! to its closing brace (from the body) and a tail such as
//! `,"receivedAt":"…","messageId":"…"}` (from the arena). The producer copies
//! the chunks into its batch: that is the one copy.

use std::sync::Arc;

use bytes::Bytes;

use crate::error::DlqReason;

/// Which buffer a span points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Src {
    Body,
    Arena,
    Config,
}

/// A byte range of one of the three buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub src: Src,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn body(start: u32, end: u32) -> Span {
        Span {
            src: Src::Body,
            start,
            end,
        }
    }

    pub fn arena(start: usize, end: usize) -> Span {
        Span {
            src: Src::Arena,
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub topic: Span,
    pub original_topic: Option<Span>,
    pub key: Option<Span>,
    pub partition: Option<i32>,
    pub headers: (u32, u32),
    pub value: (u32, u32),
    pub value_len: u32,
    pub event: u32,
    pub format: ValueFormat,
}

/// What a record's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueFormat {
    /// The event's JSON with enrichment spliced in.
    Json,
    /// An Avro datum, prefixed with the Confluent header when configured.
    Avro,
    /// A dead-letter value: `{"event": "...", "error": "..."}`.
    DeadLetter,
}

/// What became of one input event, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Routed to its topic as record number `record`.
    Routed {
        /// Index into [`Routed::records`].
        record: usize,
    },
    /// Dead-lettered as record number `record`.
    DeadLettered {
        /// Index into [`Routed::records`].
        record: usize,
        /// Why.
        reason: DlqReason,
    },
    /// Not sent: its `integrations` disable Kafka. Counted, no record.
    Skipped,
}

/// The records and outcomes of one routed body. Reuse it across calls.
#[derive(Debug, Default)]
pub struct Routed {
    pub(crate) body: Bytes,
    pub(crate) arena: Vec<u8>,
    pub(crate) config: Option<Arc<[u8]>>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) headers: Vec<(Span, Option<Span>)>,
    pub(crate) chunks: Vec<Span>,
    pub(crate) outcomes: Vec<Outcome>,
    pub(crate) skipped: usize,
    pub(crate) dead_lettered: usize,
}

impl Routed {
    /// An empty output.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn reset(&mut self, body: Bytes, config: Arc<[u8]>) {
        self.body = body;
        self.arena.clear();
        self.config = Some(config);
        self.slots.clear();
        self.headers.clear();
        self.chunks.clear();
        self.outcomes.clear();
        self.skipped = 0;
        self.dead_lettered = 0;
    }

    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        let buf: &[u8] = match span.src {
            Src::Body => &self.body,
            Src::Arena => &self.arena,
            Src::Config => self.config.as_deref().unwrap_or_default(),
        };
        buf.get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    /// The request body the records point into.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Number of records (routed and dead-letter).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// No records.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Record number `index`.
    pub fn record(&self, index: usize) -> Option<Record<'_>> {
        let slot = self.slots.get(index)?;
        Some(Record { out: self, slot })
    }

    /// All records, in input order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = Record<'_>> + '_ {
        self.slots
            .iter()
            .map(move |slot| Record { out: self, slot })
    }

    /// One outcome per input event, in input order. A body that is not JSON,
    /// or whose structure hides its events, counts as one event.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// Events skipped because their `integrations` disable Kafka.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Dead-letter records among [`Routed::records`].
    pub fn dead_lettered(&self) -> usize {
        self.dead_lettered
    }

    /// Checks the invariants every output keeps, for tests and fuzz targets:
    /// each record belongs to exactly one outcome (and the reverse), topics
    /// are legal, JSON and dead-letter values are valid JSON, value lengths
    /// add up. Returns the first violation.
    pub fn verify(&self) -> Result<(), String> {
        let mut owner = vec![None; self.slots.len()];
        let mut skipped = 0;
        for (i, o) in self.outcomes.iter().enumerate() {
            let (record, dead) = match o {
                Outcome::Routed { record } => (*record, false),
                Outcome::DeadLettered { record, .. } => (*record, true),
                Outcome::Skipped => {
                    skipped += 1;
                    continue;
                }
            };
            let Some(slot) = owner.get_mut(record) else {
                return Err(format!("outcome {i} names missing record {record}"));
            };
            if slot.replace(i).is_some() {
                return Err(format!("record {record} has two outcomes"));
            }
            if (self.slots[record].format == ValueFormat::DeadLetter) != dead {
                return Err(format!("record {record} and outcome {i} disagree"));
            }
        }
        if let Some(r) = owner.iter().position(Option::is_none) {
            return Err(format!("record {r} has no outcome"));
        }
        if skipped != self.skipped {
            return Err(format!("{skipped} skips, counter says {}", self.skipped));
        }
        for (i, r) in self.records().enumerate() {
            if !crate::topic::is_legal(r.topic().as_bytes()) {
                return Err(format!("record {i}: illegal topic {:?}", r.topic()));
            }
            let chunks: usize = r.value_chunks().map(<[u8]>::len).sum();
            if chunks != r.value_len() {
                return Err(format!(
                    "record {i}: value_len {} != {chunks}",
                    r.value_len()
                ));
            }
            if r.format() != ValueFormat::Avro {
                if let Err(e) = crate::scan::validate(&r.value_to_vec()) {
                    return Err(format!("record {i}: value is not JSON: {e}"));
                }
            }
        }
        Ok(())
    }
}

/// One Kafka record, borrowed from a [`Routed`].
#[derive(Clone, Copy)]
pub struct Record<'a> {
    out: &'a Routed,
    slot: &'a Slot,
}

impl std::fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("topic", &self.topic())
            .field("partition", &self.partition())
            .field("key", &self.key().map(String::from_utf8_lossy))
            .field("format", &self.format())
            .field("value", &String::from_utf8_lossy(&self.value_to_vec()))
            .finish()
    }
}

impl<'a> Record<'a> {
    /// The topic: always a legal Kafka topic name.
    pub fn topic(&self) -> &'a str {
        std::str::from_utf8(self.out.bytes(self.slot.topic)).unwrap_or_default()
    }

    /// The topic as it was asked for, when sanitising changed it.
    pub fn original_topic(&self) -> Option<&'a [u8]> {
        self.slot.original_topic.map(|s| self.out.bytes(s))
    }

    /// An explicit partition. `None` means: hash the key (murmur2), or, with
    /// no key, the producer's sticky partitioner.
    pub fn partition(&self) -> Option<i32> {
        self.slot.partition
    }

    /// The record key.
    pub fn key(&self) -> Option<&'a [u8]> {
        self.slot.key.map(|s| self.out.bytes(s))
    }

    /// Headers in order: static, source, mapped fields, message id, type (or,
    /// for dead letters, reason code and intended topic).
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let out = self.out;
        let (a, b) = self.slot.headers;
        out.headers
            .get(a as usize..b as usize)
            .unwrap_or_default()
            .iter()
            .map(move |(k, v)| (out.bytes(*k), v.map(|v| out.bytes(v))))
    }

    /// The value of the first header named `name`.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers()
            .find(|(k, _)| *k == name.as_bytes())
            .and_then(|(_, v)| v)
    }

    /// The value as chunks to be written one after the other.
    pub fn value_chunks(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let out = self.out;
        let (a, b) = self.slot.value;
        out.chunks
            .get(a as usize..b as usize)
            .unwrap_or_default()
            .iter()
            .map(move |s| out.bytes(*s))
    }

    /// Total value length in bytes.
    pub fn value_len(&self) -> usize {
        self.slot.value_len as usize
    }

    /// The value in one buffer (a copy; for tests and slow paths).
    pub fn value_to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.value_len());
        for c in self.value_chunks() {
            v.extend_from_slice(c);
        }
        v
    }

    /// JSON, Avro or dead letter.
    pub fn format(&self) -> ValueFormat {
        self.slot.format
    }

    /// Whether this is a dead-letter record.
    pub fn is_dead_letter(&self) -> bool {
        self.slot.format == ValueFormat::DeadLetter
    }

    /// Index of the input event this record came from.
    pub fn event_index(&self) -> usize {
        self.slot.event as usize
    }
}
