//! The router: one request body in, Kafka records and per-event outcomes out.
//!
//! # Call order
//!
//! ```text
//! Router::new(&config, seed)            once per worker
//! loop {
//!     router.route(body, now, &mut out) one call per request body
//!     for record in out.records() { producer.append(..) }
//!     report out.outcomes() to the client once the records settle
//! }
//! ```
//!
//! # How a body is routed
//!
//! 1. **Scan.** The whole body is validated once (the JSON grammar, with
//!    UTF-8 checked inside strings) by [`crate::scan`]. While scanning, the top-level members of each event
//!    that routing needs (`type`, `event`, `userId`, `context`, ...) are
//!    recorded as byte ranges. Nothing is allocated per field. A body that
//!    fails here becomes one dead-letter record, so no event of a broken batch
//!    is half-sent.
//! 2. **Validate** each event: a known `type`, its required fields, and an
//!    identity (`userId` or `anonymousId`).
//! 3. **Skip** events whose `integrations` disable Kafka (`"Kafka": false`, or
//!    `"All": false` without `Kafka` enabled). They are counted, not sent.
//! 4. **Route**: topic by `integrations.Kafka.topic` (or `KAFKA`) > track name
//!    map > type map > default topic, sanitised to Kafka's character set.
//!    Key from the configured field paths; explicit or default partition.
//! 5. **Value.** JSON events keep their original bytes. Enrichment is spliced:
//!    an existing `receivedAt` (or null `messageId`, or corrected `timestamp`)
//!    has its value range replaced; a missing field is appended before the
//!    closing brace, with a leading comma unless the object is empty; batch
//!    `context` / `integrations` members that the event lacks are inserted
//!    before the closing brace of the event's own object (event members win),
//!    or the whole batch object is appended when the event has none. The
//!    result is a list of chunks: unchanged body ranges and small arena
//!    pieces. Avro events are encoded by [`crate::avro`] from a view of the
//!    event's nodes, which a router with Avro schemas builds during the scan
//!    of step 1, with the enrichment laid over its top-level members (new
//!    values in place of the enriched members, the tail's members appended);
//!    where the overlay cannot express an edit (batch members merged into
//!    the event's own object, a batch object in place of a `null`), the
//!    enriched text is assembled into one buffer and indexed by a quick
//!    structural pass instead.
//! 6. **Headers**: static, source, mapped fields, message id, event type.
//! 7. **Size**: value, key and headers over `message.max.bytes` dead-letter.
//!
//! Every input event yields exactly one outcome: a record, a dead-letter
//! record, or a counted skip. Once its buffers have grown, routing allocates
//! nothing (`tests/alloc.rs` checks it).
//!
//! # Merging batch-level `context` and `integrations`
//!
//! As in the Segment HTTP API, a batch's `context` and `integrations` apply
//! to each of its events with a shallow merge in which the event wins: a
//! member of the event's own object (even `null`) hides the batch's member of
//! the same name. For routing, the event's own `Kafka` or `KAFKA` also wins
//! over either spelling in the batch. Key and header field paths under
//! `context.` and `integrations.` see the merged objects.
//!
//! # Skipping
//!
//! `integrations.Kafka` (or `KAFKA`) decides when it is `true`, `false` or an
//! object (enabled); otherwise `integrations.All` decides, and only
//! `"All": false` disables. Skipped events are counted, not dead-lettered.
//!
//! # Why not a simd-json value for JSON pass-through
//!
//! JSON pass-through needs the event's byte range and a dozen member ranges,
//! not a value tree; simd-json's values carry no byte offsets, and building a
//! `BorrowedValue` allocates a map per object. The router's own validating
//! scanner records ranges without allocating and, on the benchmark's
//! 789-byte track event, is about 4x faster than `simd_json::to_borrowed_value`
//! over the same bytes (see `benches/router.rs`). Avro routes index the
//! body into reused buffers (one node per value, no allocation per field)
//! rather than building a simd-json value; the
//! differential tests check both give the same bytes, and a property test
//! that the Avro route encodes exactly what the JSON route sends.
//!
//! # Dead letters
//!
//! The value is `{"event": "<original text>", "error": "<reason>"}` (Keen's
//! format); invalid UTF-8 in the text becomes U+FFFD. When the text would
//! push the record past `message.max.bytes`, it is cut at a character
//! boundary and the error says so, so the dead letter itself can be sent.
//! Headers: the reason code ([`DlqReason::code`]) and the topic the event
//! was meant for.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::avro::{AvroError, AvroSchema, BodyIndex, Builder, JsonView};
use crate::config::{EventType, RouterConfig};
use crate::error::{ConfigError, DlqReason};
use crate::ids::WyRand;
use crate::output::{Outcome, Routed, Slot, Span, Src, ValueFormat};
use crate::scan::{self, Kind, ScanError, Scanner, Stop, Val};
use crate::{time, topic};

/// Counters since the router was made, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Input events seen (a body that is not JSON counts as one).
    pub events: u64,
    /// Events routed to their topic.
    pub routed: u64,
    /// Events dead-lettered.
    pub dead_lettered: u64,
    /// Events skipped because their `integrations` disable Kafka.
    pub skipped: u64,
}

/// Routes tracking events to Kafka records. One per worker; not shared.
pub struct Router {
    strings: Arc<[u8]>,
    default_topic: TopicRef,
    dlq_topic: Span,
    multi_topic: bool,
    type_topics: [Option<TopicRef>; 6],
    track_topics: NameMap<TopicRef>,
    key_paths: Vec<Path>,
    partition_path: Option<Path>,
    default_partition: Option<i32>,
    static_headers: Vec<(Span, Option<Span>)>,
    field_headers: Vec<(Span, Path)>,
    message_id_header: Span,
    event_type_header: Span,
    type_names: [Span; 6],
    reason_codes: [Span; 6],
    dlq_reason_header: Span,
    dlq_topic_header: Span,
    message_max_bytes: usize,
    clock_skew: bool,
    schemas: Vec<SchemaEntry>,
    schema_by_id: FastMap<usize>,
    default_schema: Option<usize>,
    type_schemas: [Option<usize>; 6],
    track_schemas: NameMap<usize>,
    confluent: bool,
    rng: WyRand,
    stats: RouterStats,
    work: Work,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("default_topic", &self.default_topic())
            .field("dlq_topic", &self.dlq_topic())
            .field("multi_topic", &self.multi_topic)
            .field("schemas", &self.schemas.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

type Path = Vec<Box<[u8]>>;

/// Maps keyed by configuration strings. Events only look keys up, so they
/// cannot flood the table; a fast multiplicative hash is enough.
type FastMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<FxHasher>>;

/// Event names to route values. Track maps are usually short, and a linear
/// scan of a few names beats hashing; larger maps use a hash table.
#[derive(Debug)]
struct NameMap<V> {
    small: Vec<(Box<[u8]>, V)>,
    large: FastMap<V>,
}

impl<V: Copy> NameMap<V> {
    const LINEAR: usize = 8;

    fn new(pairs: Vec<(Box<[u8]>, V)>) -> Self {
        if pairs.len() <= Self::LINEAR {
            NameMap {
                small: pairs,
                large: FastMap::default(),
            }
        } else {
            NameMap {
                small: Vec::new(),
                large: pairs.into_iter().collect(),
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.small.is_empty() && self.large.is_empty()
    }

    fn get(&self, name: &[u8]) -> Option<V> {
        if self.large.is_empty() {
            self.small
                .iter()
                .find(|(n, _)| **n == *name)
                .map(|(_, v)| *v)
        } else {
            self.large.get(name).copied()
        }
    }
}

/// The rustc "Fx" hash: rotate, xor, multiply, eight bytes at a time.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Debug, Clone, Copy)]
struct TopicRef {
    topic: Span,
    original: Option<Span>,
}

struct SchemaEntry {
    id: String,
    schema: AvroSchema,
    wire_id: Option<u32>,
}

/// Reused buffers, so routing allocates nothing once they have grown.
#[derive(Debug, Default)]
struct Work {
    /// Elements of `batch`; `obj` of a non-object element is that element.
    elems: Vec<EventView>,
    name: Vec<u8>,
    keys: Vec<Val>,
    batch_context: Vec<(Val, Val)>,
    batch_integrations: Vec<(Val, Val)>,
    edits: Vec<Edit>,
    avro_view: JsonView,
    /// The body indexed for the Avro encoder (routers with Avro schemas).
    body_index: BodyIndex,
    text: Vec<u8>,
}

/// Replace body bytes `from..to` of an event with arena bytes `ins`.
#[derive(Debug, Clone, Copy)]
struct Edit {
    from: u32,
    to: u32,
    ins: Span,
}

/// What the clock-skew correction leaves for the value's tail.
#[derive(Debug, Clone, Copy, Default)]
struct Stamp {
    /// The event has no `timestamp`: the receive time is added.
    add_timestamp: bool,
    /// The client's `timestamp`, corrected: kept as `originalTimestamp`.
    corrected_from: Option<Val>,
}

/// Appends `text` to `arena` as a JSON string (it needs no escaping).
fn quoted(arena: &mut Vec<u8>, text: &[u8]) -> Span {
    let at = arena.len();
    arena.push(b'"');
    arena.extend_from_slice(text);
    arena.push(b'"');
    Span::arena(at, arena.len())
}

/// Whether `integrations` lets the event reach Kafka: its `Kafka` entry if
/// it has one (`true` or an object), else unless `All` is `false`.
fn integration_enabled(kafka: Option<Val>, all: Option<Val>) -> bool {
    match kafka.map(|k| k.kind()) {
        Some(Kind::True | Kind::Object) => true,
        Some(Kind::False) => false,
        _ => all.map(|a| a.kind()) != Some(Kind::False),
    }
}

/// Batch-level members merged into each event.
#[derive(Debug, Clone, Copy, Default)]
struct BatchCtx {
    context: Option<Val>,
    integrations: Option<Val>,
    /// `Kafka`, `KAFKA` and `All` of the batch's `integrations`.
    kafka: [Option<Val>; 3],
    sent_at: Option<Val>,
}

/// The top-level members of one event that routing reads, as byte ranges.
/// A repeated member keeps its last occurrence.
#[derive(Debug, Clone, Copy, Default)]
struct EventView {
    obj: Val,
    typ: Option<Val>,
    event: Option<Val>,
    user_id: Option<Val>,
    anonymous_id: Option<Val>,
    message_id: Option<Val>,
    group_id: Option<Val>,
    previous_id: Option<Val>,
    timestamp: Option<Val>,
    original_timestamp: Option<Val>,
    sent_at: Option<Val>,
    received_at: Option<Val>,
    context: Option<Val>,
    integrations: Option<Val>,
    /// `Kafka`, `KAFKA` and `All` of the event's own `integrations`,
    /// recorded while scanning.
    kafka: [Option<Val>; 3],
    batch: Option<Val>,
    /// The event object's node in [`Work::body_index`], when the body was
    /// indexed and the event's numbers are all in range.
    node: Option<u32>,
}

/// `name == lit`, compared as fixed-size arrays (no `memcmp` call).
#[inline(always)]
fn is<const N: usize>(name: &[u8], lit: &[u8; N]) -> bool {
    name.len() == N && name.first_chunk::<N>() == Some(lit)
}

impl EventView {
    fn field(&self, name: &[u8]) -> Option<Option<Val>> {
        Some(match name.len() {
            4 if is(name, b"type") => self.typ,
            5 if is(name, b"event") => self.event,
            5 if is(name, b"batch") => self.batch,
            6 if is(name, b"userId") => self.user_id,
            6 if is(name, b"sentAt") => self.sent_at,
            7 if is(name, b"groupId") => self.group_id,
            7 if is(name, b"context") => self.context,
            9 if is(name, b"messageId") => self.message_id,
            9 if is(name, b"timestamp") => self.timestamp,
            10 if is(name, b"previousId") => self.previous_id,
            10 if is(name, b"receivedAt") => self.received_at,
            11 if is(name, b"anonymousId") => self.anonymous_id,
            12 if is(name, b"integrations") => self.integrations,
            17 if is(name, b"originalTimestamp") => self.original_timestamp,
            _ => return None,
        })
    }

    #[inline(always)]
    fn record(&mut self, name: &[u8], value: Val) {
        let slot = match name.len() {
            4 if is(name, b"type") => &mut self.typ,
            5 if is(name, b"event") => &mut self.event,
            5 if is(name, b"batch") => &mut self.batch,
            6 if is(name, b"userId") => &mut self.user_id,
            6 if is(name, b"sentAt") => &mut self.sent_at,
            7 if is(name, b"groupId") => &mut self.group_id,
            7 if is(name, b"context") => &mut self.context,
            9 if is(name, b"messageId") => &mut self.message_id,
            9 if is(name, b"timestamp") => &mut self.timestamp,
            10 if is(name, b"previousId") => &mut self.previous_id,
            10 if is(name, b"receivedAt") => &mut self.received_at,
            11 if is(name, b"anonymousId") => &mut self.anonymous_id,
            12 if is(name, b"integrations") => &mut self.integrations,
            17 if is(name, b"originalTimestamp") => &mut self.original_timestamp,
            _ => return,
        };
        *slot = Some(value);
    }
}

/// Scans the value of member `key` of an event object at depth `depth` and
/// records it. `integrations` is scanned here member by member, so routing
/// never has to scan it again.
#[inline(always)]
fn scan_member(
    s: &mut Scanner<'_>,
    depth: u32,
    key: Val,
    view: &mut EventView,
    buf: &[u8],
    scratch: &mut Vec<u8>,
) -> Result<(), Stop> {
    let name = decoded(buf, key, scratch);
    if is(name, b"integrations") && s.peek() == Some(b'{') {
        let mut kafka = [None; 3];
        let v = s.object(depth, |k, v| {
            if let Some(slot) = integration_slot(decoded(buf, k, scratch)) {
                kafka[slot] = Some(v);
            }
            Ok(())
        })?;
        view.integrations = Some(v);
        view.kafka = kafka;
    } else {
        let v = s.value(depth)?;
        view.record(name, v);
    }
    Ok(())
}

/// Where an `integrations` member the router reads goes in
/// [`EventView::kafka`]: `Kafka`, `KAFKA`, then `All`.
#[inline]
fn integration_slot(name: &[u8]) -> Option<usize> {
    match name {
        b"Kafka" => Some(0),
        b"KAFKA" => Some(1),
        b"All" => Some(2),
        _ => None,
    }
}

/// [`scan_member`] that also appends the member's nodes to `b`.
fn scan_member_indexed(
    s: &mut Scanner<'_>,
    depth: u32,
    key: Val,
    view: &mut EventView,
    buf: &[u8],
    scratch: &mut Vec<u8>,
    b: &mut Builder<'_>,
) -> Result<(), Stop> {
    b.key(key);
    let name = decoded(buf, key, scratch);
    if is(name, b"integrations") && s.peek() == Some(b'{') {
        let at = b.open_object();
        let mut count = 0;
        let mut kafka = [None; 3];
        let v = s.object_with(depth, |s, k| {
            b.key(k);
            count += 1;
            let v = b.value(s, depth + 1)?;
            if let Some(slot) = integration_slot(decoded(buf, k, scratch)) {
                kafka[slot] = Some(v);
            }
            Ok(())
        })?;
        b.close_object(at, count);
        view.integrations = Some(v);
        view.kafka = kafka;
    } else {
        let v = b.value(s, depth)?;
        view.record(name, v);
    }
    Ok(())
}

/// The contents of string `v`, unescaped into `scratch` only when needed.
#[inline(always)]
fn decoded<'b>(buf: &'b [u8], v: Val, scratch: &'b mut Vec<u8>) -> &'b [u8] {
    if v.escaped() {
        scratch.clear();
        scan::unescape_into(v.str_body(buf), scratch);
        scratch
    } else {
        v.str_body(buf)
    }
}

/// Drops JSON `null`.
fn present(v: Option<Val>) -> Option<Val> {
    v.filter(|v| v.kind() != Kind::Null)
}

/// A usable id: a string or a number.
fn is_id(v: Option<Val>) -> bool {
    matches!(present(v), Some(v) if matches!(v.kind(), Kind::String | Kind::Number))
}

/// Member `name` of the merged object: the event's own (if an object) wins,
/// else the batch's, unless the event has a non-object, non-null value.
fn merged_member(
    buf: &[u8],
    event_obj: Option<Val>,
    batch_obj: Option<Val>,
    name: &[u8],
    scratch: &mut Vec<u8>,
) -> Option<Val> {
    match event_obj {
        Some(v) if v.kind() == Kind::Object => {
            if let Some(m) = scan::member(buf, v, name, scratch) {
                return Some(m);
            }
        }
        Some(v) if v.kind() != Kind::Null => return None,
        _ => {}
    }
    batch_obj.and_then(|b| scan::member(buf, b, name, scratch))
}

/// Checks the members an event of type `ty` requires; returns its `event`
/// name, if it has one.
fn validate(buf: &[u8], view: &EventView, ty: EventType) -> Result<Option<Val>, DlqReason> {
    if !is_id(view.user_id) && !is_id(view.anonymous_id) {
        return Err(DlqReason::MissingField("userId or anonymousId"));
    }
    let event_name = match (ty, present(view.event)) {
        (EventType::Track, None) => return Err(DlqReason::MissingField("event")),
        (_, Some(e)) if !e.is_string() => {
            return Err(DlqReason::BadStructure("`event` must be a string"))
        }
        (EventType::Track, Some(e)) if e.str_body(buf).is_empty() => {
            return Err(DlqReason::MissingField("event"))
        }
        (_, e) => e,
    };
    match ty {
        EventType::Group if !is_id(view.group_id) => {
            return Err(DlqReason::MissingField("groupId"))
        }
        EventType::Alias if !is_id(view.user_id) => return Err(DlqReason::MissingField("userId")),
        EventType::Alias if !is_id(view.previous_id) => {
            return Err(DlqReason::MissingField("previousId"))
        }
        _ => {}
    }
    if present(view.message_id).is_some_and(|m| !m.is_string()) {
        return Err(DlqReason::BadStructure("`messageId` must be a string"));
    }
    Ok(event_name)
}

/// `integrations.Kafka` (or `KAFKA`) and `integrations.All` of the merged
/// integrations object. A member of the event's own object (even `null`)
/// shadows the batch's member of the same name, and the event's own `Kafka`
/// or `KAFKA` wins over either of the batch's.
fn kafka_integration(view: &EventView, batch: &BatchCtx) -> (Option<Val>, Option<Val>) {
    if view
        .integrations
        .is_some_and(|v| !matches!(v.kind(), Kind::Object | Kind::Null))
    {
        return (None, None);
    }
    let own = view.kafka;
    let merged = |i: usize| own[i].or(batch.kafka[i]);
    let kafka = present(own[0])
        .or(present(own[1]))
        .or(present(merged(0)))
        .or(present(merged(1)));
    (kafka, merged(2))
}

fn lookup_path(
    buf: &[u8],
    view: &EventView,
    batch: &BatchCtx,
    path: &[Box<[u8]>],
    scratch: &mut Vec<u8>,
) -> Option<Val> {
    let (first, mut rest) = path.split_first()?;
    let mut cur = match view.field(first) {
        Some(known) => known,
        None => scan::member(buf, view.obj, first, scratch),
    };
    let batch_obj = match &**first {
        b"context" => batch.context,
        b"integrations" => batch.integrations,
        _ => None,
    };
    if let (Some(_), Some((second, more))) = (batch_obj, rest.split_first()) {
        cur = merged_member(buf, cur, batch_obj, second, scratch);
        rest = more;
    }
    for seg in rest {
        cur = cur.and_then(|c| scan::member(buf, c, seg, scratch));
    }
    present(cur)
}

fn parse_path(path: &str) -> Result<Path, ConfigError> {
    let segs: Path = path
        .split('.')
        .map(|s| s.as_bytes().to_vec().into_boxed_slice())
        .collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(ConfigError::InvalidFieldPath(path.to_owned()));
    }
    Ok(segs)
}

/// Interns configuration strings into one buffer shared with every output.
#[derive(Default)]
struct Strings(Vec<u8>);

impl Strings {
    fn add(&mut self, s: &[u8]) -> Result<Span, ConfigError> {
        let start = self.0.len();
        self.0.extend_from_slice(s);
        let end = u32::try_from(self.0.len()).map_err(|_| ConfigError::TooLarge)?;
        Ok(Span {
            src: Src::Config,
            start: start as u32,
            end,
        })
    }

    fn topic(&mut self, what: &str, name: &str) -> Result<TopicRef, ConfigError> {
        if name.is_empty() {
            return Err(ConfigError::EmptyTopic(what.to_owned()));
        }
        if topic::is_legal(name.as_bytes()) {
            return Ok(TopicRef {
                topic: self.add(name.as_bytes())?,
                original: None,
            });
        }
        let original = Some(self.add(name.as_bytes())?);
        let topic = self.add(topic::sanitize(name).as_bytes())?;
        Ok(TopicRef { topic, original })
    }
}

impl Router {
    /// Builds a router. `seed` seeds the generator of missing `messageId`s
    /// (give each worker its own, e.g. from the OS once at start-up).
    pub fn new(config: &RouterConfig, seed: u64) -> Result<Router, ConfigError> {
        if config.default_topic.is_empty() {
            return Err(ConfigError::EmptyDefaultTopic);
        }
        if config.message_max_bytes == 0 {
            return Err(ConfigError::ZeroMessageMaxBytes);
        }
        if let Some(p) = config.default_partition.filter(|p| *p < 0) {
            return Err(ConfigError::NegativeDefaultPartition(p));
        }
        let mut st = Strings::default();
        let default_topic = st.topic("default_topic", &config.default_topic)?;
        let dlq_name = match &config.dlq_topic {
            Some(t) => t.clone(),
            None => format!("{}-dlq", config.default_topic),
        };
        let dlq_topic = st.topic("dlq_topic", &dlq_name)?.topic;
        let mut type_topics = [None; 6];
        for (ty, name) in &config.type_topics {
            type_topics[ty.index()] = Some(st.topic(ty.as_str(), name)?);
        }
        let mut track_topics = Vec::new();
        for (event, name) in &config.track_topics {
            let t = st.topic(event, name)?;
            track_topics.push((event.as_bytes().into(), t));
        }
        let key_paths = config
            .key_fields
            .iter()
            .map(|p| parse_path(p))
            .collect::<Result<Vec<_>, _>>()?;
        let partition_path = config
            .partition_field
            .as_deref()
            .map(parse_path)
            .transpose()?;
        let mut static_headers = Vec::new();
        for h in &config.static_headers {
            let k = st.add(h.key.as_bytes())?;
            let v = match &h.value {
                Some(v) => Some(st.add(v.as_bytes())?),
                None => None,
            };
            static_headers.push((k, v));
        }
        if let Some(source) = &config.source_name {
            let k = st.add(config.source_header.as_bytes())?;
            let v = st.add(source.as_bytes())?;
            static_headers.push((k, Some(v)));
        }
        let mut field_headers = Vec::new();
        for (name, path) in &config.header_fields {
            field_headers.push((st.add(name.as_bytes())?, parse_path(path)?));
        }
        let message_id_header = st.add(config.message_id_header.as_bytes())?;
        let event_type_header = st.add(config.event_type_header.as_bytes())?;
        let mut type_names = [message_id_header; 6];
        for ty in EventType::ALL {
            type_names[ty.index()] = st.add(ty.as_str().as_bytes())?;
        }
        let mut reason_codes = [message_id_header; 6];
        for (i, code) in DlqReason::CODES.iter().enumerate() {
            reason_codes[i] = st.add(code.as_bytes())?;
        }
        let dlq_reason_header = st.add(config.dlq_reason_header.as_bytes())?;
        let dlq_topic_header = st.add(config.dlq_topic_header.as_bytes())?;

        let avro = &config.avro;
        let mut schemas = Vec::new();
        let mut schema_by_id = FastMap::default();
        for s in &avro.schemas {
            if schema_by_id
                .insert(s.id.as_bytes().into(), schemas.len())
                .is_some()
            {
                return Err(ConfigError::DuplicateSchemaId(s.id.clone()));
            }
            let schema =
                AvroSchema::compile(&s.schema).map_err(|source| ConfigError::InvalidSchema {
                    id: s.id.clone(),
                    source,
                })?;
            schemas.push(SchemaEntry {
                id: s.id.clone(),
                schema,
                wire_id: s.id.parse::<u32>().ok().filter(|id| *id <= i32::MAX as u32),
            });
        }
        let find = |id: &str| -> Result<usize, ConfigError> {
            schema_by_id
                .get(id.as_bytes())
                .copied()
                .ok_or_else(|| ConfigError::UnknownSchemaId(id.to_owned()))
        };
        let default_schema = avro.default_schema.as_deref().map(find).transpose()?;
        let mut type_schemas = [None; 6];
        for (ty, id) in &avro.type_schemas {
            type_schemas[ty.index()] = Some(find(id)?);
        }
        let mut track_schemas = Vec::new();
        for (event, id) in &avro.track_schemas {
            track_schemas.push((event.as_bytes().into(), find(id)?));
        }

        Ok(Router {
            strings: Arc::from(st.0),
            default_topic,
            dlq_topic,
            multi_topic: config.multi_topic,
            type_topics,
            track_topics: NameMap::new(track_topics),
            key_paths,
            partition_path,
            default_partition: config.default_partition,
            static_headers,
            field_headers,
            message_id_header,
            event_type_header,
            type_names,
            reason_codes,
            dlq_reason_header,
            dlq_topic_header,
            message_max_bytes: config.message_max_bytes,
            clock_skew: config.clock_skew_correction,
            schemas,
            schema_by_id,
            default_schema,
            type_schemas,
            track_schemas: NameMap::new(track_schemas),
            confluent: avro.confluent_wire_format,
            rng: WyRand::new(seed),
            stats: RouterStats::default(),
            work: Work::default(),
        })
    }

    /// Counters since the router was made.
    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// The default topic, sanitised.
    pub fn default_topic(&self) -> &str {
        self.config_str(self.default_topic.topic)
    }

    /// The dead-letter topic, sanitised.
    pub fn dlq_topic(&self) -> &str {
        self.config_str(self.dlq_topic)
    }

    /// The partition used when an event's partition field is absent or
    /// invalid (`default_partition`), if set.
    pub fn default_partition(&self) -> Option<i32> {
        self.default_partition
    }

    /// The largest record the router writes (`message.max.bytes`).
    pub fn message_max_bytes(&self) -> usize {
        self.message_max_bytes
    }

    fn config_str(&self, span: Span) -> &str {
        self.strings
            .get(span.start as usize..span.end as usize)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// Routes one request body (a single event, or a `{"batch": [...]}` body)
    /// into `out`, replacing what it held. `now` is the time the body was
    /// received: it becomes `receivedAt`. Never panics on any input.
    pub fn route(&mut self, body: Bytes, now: SystemTime, out: &mut Routed) {
        out.reset(body.clone(), self.strings.clone());
        let now = Now::new(time::unix_millis(now));
        let buf = &body[..];
        let default_topic = self.default_topic.topic;

        if u32::try_from(buf.len()).is_err() {
            let reason = DlqReason::TooLarge {
                size: buf.len(),
                max: self.message_max_bytes,
            };
            self.stats.events += 1;
            self.dead_letter(out, 0, buf, reason, default_topic);
            return;
        }
        let scanned = if self.schemas.is_empty() {
            self.scan_body(buf)
        } else {
            self.scan_body_indexed(buf)
        };
        let view = match scanned {
            Ok(Some(view)) => view,
            Ok(None) => {
                self.stats.events += 1;
                self.dead_letter(out, 0, buf, DlqReason::NotAnObject, default_topic);
                return;
            }
            Err(e) => {
                self.stats.events += 1;
                self.dead_letter(out, 0, buf, DlqReason::InvalidJson(e), default_topic);
                return;
            }
        };
        match view.batch {
            None => self.process(out, buf, 0, &view, &BatchCtx::default(), &now),
            Some(b) if b.kind() != Kind::Array => {
                self.stats.events += 1;
                let reason = DlqReason::BadStructure("`batch` must be an array");
                self.dead_letter(out, 0, buf, reason, default_topic);
            }
            Some(_) => {
                let batch = self.batch_ctx(buf, &view);
                let elems = std::mem::take(&mut self.work.elems);
                for (i, elem) in elems.iter().enumerate() {
                    let index = i as u32;
                    if elem.obj.kind() == Kind::Object {
                        self.process(out, buf, index, elem, &batch, &now);
                    } else {
                        self.stats.events += 1;
                        let raw = elem.obj.raw(buf);
                        let reason = DlqReason::NotAnObject;
                        self.dead_letter(out, index, raw, reason, default_topic);
                    }
                }
                self.work.elems = elems;
            }
        }
    }

    /// Validates the whole body and records the members routing needs.
    /// `Ok(None)`: valid JSON, but not an object.
    fn scan_body(&mut self, buf: &[u8]) -> Result<Option<EventView>, ScanError> {
        // UTF-8 is checked by the scan itself (see `Scanner::new`).
        let mut s = Scanner::new(buf);
        if s.peek() != Some(b'{') {
            return match s.value(0).and_then(|_| s.finish()) {
                Ok(()) => Ok(None),
                Err(_) => Err(scan::failure(buf, s.error())),
            };
        }
        let Work { elems, name, .. } = &mut self.work;
        elems.clear();
        let mut top = EventView::default();
        let obj = s.object_with(0, |s, key| {
            if scan::key_is(buf, key, b"batch", name) && s.peek() == Some(b'[') {
                elems.clear();
                let arr = s.array_with(1, |s| {
                    if s.peek() == Some(b'{') {
                        // Filled in place: a view is a few hundred bytes.
                        elems.push(EventView::default());
                        let view = elems.last_mut().ok_or(Stop)?;
                        view.obj =
                            s.object_with(2, |s, k| scan_member(s, 3, k, view, buf, name))?;
                    } else {
                        elems.push(EventView {
                            obj: s.value(2)?,
                            ..EventView::default()
                        });
                    }
                    Ok(())
                })?;
                top.batch = Some(arr);
                Ok(())
            } else {
                scan_member(s, 1, key, &mut top, buf, name)
            }
        });
        let Ok(obj) = obj.and_then(|obj| s.finish().map(|()| obj)) else {
            return Err(scan::failure(buf, s.error()));
        };
        top.obj = obj;
        Ok(Some(top))
    }

    /// [`Router::scan_body`] that also indexes the body for the Avro encoder
    /// ([`BodyIndex`]), so that an Avro event's bytes are walked once.
    ///
    /// The body is not checked as UTF-8 first, nor copied: the scan checks
    /// it (and errors are reported as by [`Router::scan_body`]), and the
    /// index points into it.
    fn scan_body_indexed(&mut self, buf: &[u8]) -> Result<Option<EventView>, ScanError> {
        let mut s = Scanner::new(buf);
        if s.peek() != Some(b'{') {
            return match s.value(0).and_then(|_| s.finish()) {
                Ok(()) => Ok(None),
                Err(_) => Err(scan::failure(buf, s.error())),
            };
        }
        let Work {
            elems,
            name,
            body_index,
            ..
        } = &mut self.work;
        elems.clear();
        let mut top = EventView::default();
        let mut b = body_index.start(buf);
        let root = b.open_object();
        let mut members = 0;
        let obj = s.object_with(0, |s, key| {
            members += 1;
            if scan::key_is(buf, key, b"batch", name) && s.peek() == Some(b'[') {
                b.key(key);
                elems.clear();
                let array = b.open_array();
                let mut count = 0;
                let arr = s.array_with(1, |s| {
                    count += 1;
                    if s.peek() == Some(b'{') {
                        elems.push(EventView::default());
                        let view = elems.last_mut().ok_or(Stop)?;
                        let node = b.open_object();
                        b.take_number_error();
                        let mut members = 0;
                        view.obj = s.object_with(2, |s, k| {
                            members += 1;
                            scan_member_indexed(s, 3, k, view, buf, name, &mut b)
                        })?;
                        b.close_object(node, members);
                        view.node = (!b.take_number_error()).then_some(node as u32);
                    } else {
                        elems.push(EventView {
                            obj: b.value(s, 2)?,
                            ..EventView::default()
                        });
                    }
                    Ok(())
                })?;
                b.close_array(array, count);
                top.batch = Some(arr);
                Ok(())
            } else {
                scan_member_indexed(s, 1, key, &mut top, buf, name, &mut b)
            }
        });
        b.close_object(root, members);
        if top.batch.is_none() && !b.take_number_error() {
            top.node = Some(root as u32);
        }
        let Ok(obj) = obj.and_then(|obj| s.finish().map(|()| obj)) else {
            return Err(scan::failure(buf, s.error()));
        };
        body_index.end_body();
        top.obj = obj;
        Ok(Some(top))
    }

    fn batch_ctx(&mut self, buf: &[u8], top: &EventView) -> BatchCtx {
        let usable = |v: Option<Val>| v.filter(|v| v.kind() == Kind::Object && v.flag());
        let ctx = BatchCtx {
            context: usable(top.context),
            integrations: usable(top.integrations),
            kafka: top.kafka,
            sent_at: present(top.sent_at),
        };
        for (obj, members) in [
            (ctx.context, &mut self.work.batch_context),
            (ctx.integrations, &mut self.work.batch_integrations),
        ] {
            members.clear();
            if let Some(o) = obj {
                let _ = Scanner::at(buf, o.start() as usize).object(0, |k, v| {
                    members.push((k, v));
                    Ok(())
                });
            }
        }
        ctx
    }

    fn process(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        index: u32,
        view: &EventView,
        batch: &BatchCtx,
        now: &Now,
    ) {
        self.stats.events += 1;
        let marks = (out.arena.len(), out.headers.len(), out.chunks.len());
        match self.build(out, buf, index, view, batch, now) {
            Ok(Some(slot)) => {
                let record = out.slots.len();
                out.slots.push(slot);
                out.outcomes.push(Outcome::Routed { record });
                self.stats.routed += 1;
            }
            Ok(None) => {
                // The event's topic may have been written there.
                out.arena.truncate(marks.0);
                out.outcomes.push(Outcome::Skipped);
                out.skipped += 1;
                self.stats.skipped += 1;
            }
            Err((reason, intended)) => {
                let intended = keep_only(&mut out.arena, marks.0, intended);
                out.headers.truncate(marks.1);
                out.chunks.truncate(marks.2);
                let raw = view.obj.raw(buf);
                self.dead_letter(out, index, raw, reason, intended);
            }
        }
    }

    /// Builds the record for a scanned event; `Ok(None)` means skipped.
    /// A failure carries the topic the event was meant for: the default
    /// topic until the event's type is known, then the topic it routes to.
    fn build(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        index: u32,
        view: &EventView,
        batch: &BatchCtx,
        now: &Now,
    ) -> Result<Option<Slot>, (DlqReason, Span)> {
        let ty = self
            .event_type(buf, view)
            .map_err(|r| (r, self.default_topic.topic))?;
        let (kafka, all) = kafka_integration(view, batch);
        let kafka_obj = kafka.filter(|k| k.kind() == Kind::Object);
        let topic = self.topic(out, buf, view, ty, kafka_obj);
        let fail = |r: DlqReason| (r, topic.topic);
        let event_name = validate(buf, view, ty).map_err(fail)?;
        if !integration_enabled(kafka, all) {
            return Ok(None);
        }
        let schema = self.schema(buf, ty, event_name, kafka_obj).map_err(fail)?;
        let key = self.key(out, buf, view, batch);
        let partition = self.partition(buf, view, batch);
        let chunk_start = out.chunks.len();
        let message_id = self.value(out, buf, view, batch, now);
        let format = match schema {
            None => ValueFormat::Json,
            Some(i) => {
                self.encode_avro_event(out, buf, view, chunk_start, i)
                    .map_err(fail)?;
                ValueFormat::Avro
            }
        };
        let value_len: usize = out.chunks[chunk_start..].iter().map(Span::len).sum();
        let header_start = out.headers.len();
        self.headers(out, buf, view, batch, ty, message_id);
        let header_len: usize = out.headers[header_start..]
            .iter()
            .map(|(k, v)| k.len() + v.map_or(0, |v| v.len()))
            .sum();
        let size = value_len + key.map_or(0, |k| k.len()) + header_len;
        if size > self.message_max_bytes {
            return Err(fail(DlqReason::TooLarge {
                size,
                max: self.message_max_bytes,
            }));
        }
        Ok(Some(Slot {
            topic: topic.topic,
            original_topic: topic.original,
            key,
            partition,
            headers: (header_start as u32, out.headers.len() as u32),
            value: (chunk_start as u32, out.chunks.len() as u32),
            value_len: value_len as u32,
            event: index,
            format,
        }))
    }

    /// The Avro schema of the event: `integrations.Kafka.schemaId` (which
    /// must name a configured schema), else the one configured for its
    /// track name, its type, or all events; `None` for JSON.
    fn schema(
        &mut self,
        buf: &[u8],
        ty: EventType,
        event_name: Option<Val>,
        kafka_obj: Option<Val>,
    ) -> Result<Option<usize>, DlqReason> {
        let Work { name, text, .. } = &mut self.work;
        let schema_id = kafka_obj
            .and_then(|k| scan::member(buf, k, b"schemaId", name))
            .filter(|v| matches!(v.kind(), Kind::String | Kind::Number));
        if let Some(v) = schema_id {
            let id = if v.is_string() {
                decoded(buf, v, text)
            } else {
                v.raw(buf)
            };
            match self.schema_by_id.get(id) {
                Some(i) => return Ok(Some(*i)),
                None if id.is_empty() => {}
                None => {
                    let id = String::from_utf8_lossy(id).into_owned();
                    return Err(DlqReason::UnknownSchema(id));
                }
            }
        }
        let by_name = match event_name {
            Some(e) if ty == EventType::Track && !self.track_schemas.is_empty() => {
                self.track_schemas.get(decoded(buf, e, text))
            }
            _ => None,
        };
        Ok(by_name
            .or(self.type_schemas[ty.index()])
            .or(self.default_schema))
    }

    /// The record key: the first `key_fields` path that holds a non-empty
    /// string or a number.
    fn key(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        batch: &BatchCtx,
    ) -> Option<Span> {
        for path in &self.key_paths {
            let Some(v) = lookup_path(buf, view, batch, path, &mut self.work.name) else {
                continue;
            };
            let key = match v.kind() {
                Kind::String if v.str_body(buf).is_empty() => None,
                Kind::String => Some(string_span(out, buf, v)),
                Kind::Number => Some(Span::body(v.start(), v.end())),
                _ => None,
            };
            if key.is_some() {
                return key;
            }
        }
        None
    }

    /// The explicit partition: `partition_field` when it holds a
    /// non-negative integer, else `default_partition`.
    fn partition(&mut self, buf: &[u8], view: &EventView, batch: &BatchCtx) -> Option<i32> {
        self.partition_path
            .as_ref()
            .and_then(|p| lookup_path(buf, view, batch, p, &mut self.work.name))
            .and_then(|v| {
                let digits = match v.kind() {
                    Kind::String => v.str_body(buf),
                    Kind::Number => v.raw(buf),
                    _ => return None,
                };
                std::str::from_utf8(digits).ok()?.parse::<i32>().ok()
            })
            .filter(|p| *p >= 0)
            .or(self.default_partition)
    }

    /// Writes the event's value as chunks: its original bytes with the
    /// enrichment spliced in (`receivedAt`, `messageId`, the clock-skew
    /// correction, the batch's `context` and `integrations`), then the new
    /// members. Returns the message id.
    fn value(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        batch: &BatchCtx,
        now: &Now,
    ) -> Option<Span> {
        self.work.edits.clear();
        if let Some(v) = view.received_at {
            let ins = quoted(&mut out.arena, &now.received);
            self.work.edits.push(Edit {
                from: v.start(),
                to: v.end(),
                ins,
            });
        }
        let message_id = self.message_id(out, buf, view);
        let stamp = self.correct_timestamp(out, buf, view, batch, now);
        let appended = self.merge_batch_members(out, buf, view, batch);
        let (tail, message_id) = self.tail(out, buf, view, now, message_id, stamp, appended);
        self.splice(out, view, tail);
        Some(message_id)
    }

    /// The event's `messageId`: its own, or a new UUID replacing an empty
    /// or non-string one; `None` when the event has none (the tail adds
    /// one).
    fn message_id(&mut self, out: &mut Routed, buf: &[u8], view: &EventView) -> Option<Span> {
        let arena = &mut out.arena;
        match view.message_id {
            Some(v) if v.is_string() && !v.str_body(buf).is_empty() => Some(if v.escaped() {
                let at = arena.len();
                scan::unescape_into(v.str_body(buf), arena);
                Span::arena(at, arena.len())
            } else {
                Span::body(v.start() + 1, v.end() - 1)
            }),
            Some(v) => {
                let at = arena.len();
                arena.push(b'"');
                self.rng.write_uuid_v4(arena);
                arena.push(b'"');
                self.work.edits.push(Edit {
                    from: v.start(),
                    to: v.end(),
                    ins: Span::arena(at, arena.len()),
                });
                Some(Span::arena(at + 1, arena.len() - 1))
            }
            None => None,
        }
    }

    /// Clock-skew correction (`timestamp` moved by `sentAt`'s distance
    /// from the receive time; a null one set to the receive time).
    fn correct_timestamp(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        batch: &BatchCtx,
        now: &Now,
    ) -> Stamp {
        let mut stamp = Stamp::default();
        if !self.clock_skew {
            return stamp;
        }
        let arena = &mut out.arena;
        match view.timestamp {
            Some(ts) if ts.is_string() && !ts.escaped() => {
                let sent = present(view.sent_at)
                    .or(batch.sent_at)
                    .filter(|s| s.is_string())
                    .and_then(|s| time::parse_rfc3339(s.str_body(buf)));
                let client = time::parse_rfc3339(ts.str_body(buf));
                if let (Some(sent), Some(client)) = (sent, client) {
                    let fixed = now.ms.saturating_sub(sent.saturating_sub(client));
                    let ins = quoted(arena, &time::format_millis(fixed));
                    self.work.edits.push(Edit {
                        from: ts.start(),
                        to: ts.end(),
                        ins,
                    });
                    if view.original_timestamp.is_none() {
                        stamp.corrected_from = Some(ts);
                    }
                }
            }
            Some(ts) if ts.kind() == Kind::Null => {
                let ins = quoted(arena, &now.received);
                self.work.edits.push(Edit {
                    from: ts.start(),
                    to: ts.end(),
                    ins,
                });
            }
            Some(_) => {}
            None => stamp.add_timestamp = true,
        }
        stamp
    }

    /// Merges the batch's `context` and `integrations` into the event's:
    /// the event's own members win; the batch's object is appended whole
    /// when the event has none (returned, for the tail).
    fn merge_batch_members(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        batch: &BatchCtx,
    ) -> [Option<Val>; 2] {
        let Work {
            name,
            text,
            edits,
            keys,
            batch_context,
            batch_integrations,
            ..
        } = &mut self.work;
        let arena = &mut out.arena;
        let mut append = [None, None];
        for (slot, own, batch_obj, members) in [
            (0, view.context, batch.context, &*batch_context),
            (
                1,
                view.integrations,
                batch.integrations,
                &*batch_integrations,
            ),
        ] {
            let Some(batch_obj) = batch_obj else { continue };
            match own {
                None => append[slot] = Some(batch_obj),
                Some(v) if v.kind() == Kind::Null => {
                    let at = arena.len();
                    arena.extend_from_slice(batch_obj.raw(buf));
                    edits.push(Edit {
                        from: v.start(),
                        to: v.end(),
                        ins: Span::arena(at, arena.len()),
                    });
                }
                Some(v) if v.kind() == Kind::Object => {
                    keys.clear();
                    let _ = Scanner::at(buf, v.start() as usize).object(0, |k, _| {
                        keys.push(k);
                        Ok(())
                    });
                    let at = arena.len();
                    let mut comma = v.flag();
                    for (bk, bv) in members {
                        let bname = decoded(buf, *bk, text);
                        if keys.iter().any(|k| scan::key_is(buf, *k, bname, name)) {
                            continue;
                        }
                        if comma {
                            arena.push(b',');
                        }
                        comma = true;
                        arena.extend_from_slice(&buf[bk.start() as usize..bv.end() as usize]);
                    }
                    if arena.len() > at {
                        edits.push(Edit {
                            from: v.end() - 1,
                            to: v.end() - 1,
                            ins: Span::arena(at, arena.len()),
                        });
                    }
                }
                Some(_) => {}
            }
        }
        append
    }

    /// The value's tail: the new members (`receivedAt`, a `messageId`, a
    /// `timestamp`, `originalTimestamp`, the batch's `context` and
    /// `integrations`), then the closing brace. Returns it with the message
    /// id (the event's own, or the one it adds).
    #[allow(clippy::too_many_arguments)]
    fn tail(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        now: &Now,
        message_id: Option<Span>,
        stamp: Stamp,
        [append_context, append_integrations]: [Option<Val>; 2],
    ) -> (Span, Span) {
        let arena = &mut out.arena;
        let tail_start = arena.len();
        let mut first = !view.obj.flag();
        if view.received_at.is_none() {
            arena.extend_from_slice(&now.member[usize::from(first)..]);
            first = false;
        }
        let mut field = |arena: &mut Vec<u8>, name: &[u8]| {
            if !first {
                arena.push(b',');
            }
            first = false;
            arena.push(b'"');
            arena.extend_from_slice(name);
            arena.extend_from_slice(b"\":");
        };
        let message_id = match message_id {
            Some(id) => id,
            None => {
                field(arena, b"messageId");
                arena.push(b'"');
                let at = arena.len();
                self.rng.write_uuid_v4(arena);
                let id = Span::arena(at, arena.len());
                arena.push(b'"');
                id
            }
        };
        if stamp.add_timestamp {
            field(arena, b"timestamp");
            quoted(arena, &now.received);
        }
        if let Some(ts) = stamp.corrected_from {
            field(arena, b"originalTimestamp");
            arena.extend_from_slice(ts.raw(buf));
        }
        if let Some(c) = append_context {
            field(arena, b"context");
            arena.extend_from_slice(c.raw(buf));
        }
        if let Some(i) = append_integrations {
            field(arena, b"integrations");
            arena.extend_from_slice(i.raw(buf));
        }
        arena.push(b'}');
        (Span::arena(tail_start, arena.len()), message_id)
    }

    /// Pushes the value's chunks: the event's bytes between the edits, the
    /// edits' bytes, then the tail in place of the closing brace.
    fn splice(&mut self, out: &mut Routed, view: &EventView, tail: Span) {
        let edits = &mut self.work.edits;
        edits.sort_unstable_by_key(|e| e.from);
        let mut cursor = view.obj.start();
        for e in edits.iter() {
            if e.from > cursor {
                out.chunks.push(Span::body(cursor, e.from));
            }
            out.chunks.push(e.ins);
            cursor = e.to;
        }
        let close = view.obj.end() - 1;
        if close > cursor {
            out.chunks.push(Span::body(cursor, close));
        }
        out.chunks.push(tail);
    }

    /// The record's headers: the static ones, the configured field
    /// headers, the message id and the event type.
    fn headers(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        batch: &BatchCtx,
        ty: EventType,
        message_id: Option<Span>,
    ) {
        out.headers.extend_from_slice(&self.static_headers);
        for (hname, path) in &self.field_headers {
            let Some(v) = lookup_path(buf, view, batch, path, &mut self.work.name) else {
                continue;
            };
            let span = match v.kind() {
                Kind::String => string_span(out, buf, v),
                _ => Span::body(v.start(), v.end()),
            };
            out.headers.push((*hname, Some(span)));
        }
        out.headers.push((self.message_id_header, message_id));
        out.headers
            .push((self.event_type_header, Some(self.type_names[ty.index()])));
    }

    /// Replaces the JSON chunks from `chunk_start` with one Avro datum.
    fn encode_avro(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        chunk_start: usize,
        schema: usize,
    ) -> Result<(), DlqReason> {
        let view = &mut self.work.avro_view;
        // Body ranges were validated by the scan; the arena pieces are JSON
        // the router wrote.
        let parsed = view.fill_valid(|json| {
            for span in &out.chunks[chunk_start..] {
                let bytes = match span.src {
                    Src::Body => buf.get(span.start as usize..span.end as usize),
                    Src::Arena => out.arena.get(span.start as usize..span.end as usize),
                    Src::Config => self.strings.get(span.start as usize..span.end as usize),
                };
                json.extend_from_slice(bytes.unwrap_or_default());
            }
        });
        out.chunks.truncate(chunk_start);
        self.write_avro(out, buf, schema, parsed, false)
    }

    /// [`Router::encode_avro`] without assembling the enriched JSON or
    /// walking the event's bytes again: the view is the event's nodes from
    /// the body index, with the enrichment (the edits' values and the tail's
    /// members) laid over its top-level members. Edits that this cannot
    /// express (batch members merged into the event's own object, a batch
    /// object replacing a `null`) and events with a number out of range take
    /// the assembling path.
    fn encode_avro_event(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        chunk_start: usize,
        schema: usize,
    ) -> Result<(), DlqReason> {
        let arena_bytes = |span: &Span| match span.src {
            Src::Arena => out.arena.get(span.start as usize..span.end as usize),
            _ => None,
        };
        let tail = out.chunks.last().and_then(arena_bytes);
        let members = [
            (view.received_at, "receivedAt"),
            (view.message_id, "messageId"),
            (view.timestamp, "timestamp"),
            (view.context, "context"),
            (view.integrations, "integrations"),
        ];
        let mut replace: [(&str, &[u8]); 5] = [("", &[]); 5];
        let mut n = 0;
        let mut overlay = tail.is_some() && view.obj.kind() == Kind::Object;
        for e in &self.work.edits {
            let name = members
                .iter()
                .find(|(v, _)| v.is_some_and(|v| v.start() == e.from && v.end() == e.to))
                .map(|(_, name)| *name);
            match (name, arena_bytes(&e.ins), replace.get_mut(n)) {
                (Some(name), Some(json), Some(slot)) if e.from < e.to => {
                    *slot = (name, json);
                    n += 1;
                }
                _ => {
                    overlay = false;
                    break;
                }
            }
        }
        let indexed = overlay
            && view.node.is_some_and(|node| {
                self.work.body_index.fill_event(
                    buf,
                    node as usize,
                    &replace[..n],
                    tail.unwrap_or_default(),
                )
            });
        if !indexed {
            return self.encode_avro(out, buf, chunk_start, schema);
        }
        out.chunks.truncate(chunk_start);
        self.write_avro(out, buf, schema, Ok(()), true)
    }

    /// Appends the datum of the document in the Avro view (the body index's
    /// of `buf` if `from_body`; the outcome of indexing it is `parsed`) as
    /// one chunk.
    fn write_avro(
        &self,
        out: &mut Routed,
        buf: &[u8],
        schema: usize,
        parsed: Result<(), AvroError>,
        from_body: bool,
    ) -> Result<(), DlqReason> {
        let doc = if from_body {
            self.work.body_index.doc(buf)
        } else {
            Some(self.work.avro_view.doc())
        };
        let Some(entry) = self.schemas.get(schema) else {
            return Err(DlqReason::UnknownSchema(String::new()));
        };
        let avro_error = |message: String| DlqReason::Avro {
            schema: entry.id.clone(),
            message,
        };
        parsed.map_err(|e| avro_error(e.to_string()))?;
        let doc =
            doc.ok_or_else(|| avro_error("internal: the body index is of another body".into()))?;
        let start = out.arena.len();
        if let (true, Some(id)) = (self.confluent, entry.wire_id) {
            out.arena.push(0);
            out.arena.extend_from_slice(&id.to_be_bytes());
        }
        entry
            .schema
            .encode_doc(&doc, &mut out.arena)
            .map_err(|e| avro_error(e.to_string()))?;
        out.chunks.push(Span::arena(start, out.arena.len()));
        Ok(())
    }

    /// The event's `type`.
    fn event_type(&mut self, buf: &[u8], view: &EventView) -> Result<EventType, DlqReason> {
        let typ = present(view.typ).ok_or(DlqReason::MissingField("type"))?;
        if !typ.is_string() {
            return Err(DlqReason::BadStructure("`type` must be a string"));
        }
        match EventType::from_bytes(decoded(buf, typ, &mut self.work.name)) {
            Some(ty) => Ok(ty),
            None => {
                let name = if typ.escaped() {
                    String::from_utf8_lossy(&self.work.name).into_owned()
                } else {
                    String::from_utf8_lossy(typ.str_body(buf)).into_owned()
                };
                Err(DlqReason::UnknownType(name))
            }
        }
    }

    /// The topic of an event of type `ty`: `integrations.Kafka.topic`,
    /// else (with `multi_topic`) the track name's or the type's topic, else
    /// the default topic. Known before the event is validated, for the
    /// dead letter of an invalid one.
    fn topic(
        &mut self,
        out: &mut Routed,
        buf: &[u8],
        view: &EventView,
        ty: EventType,
        kafka_obj: Option<Val>,
    ) -> TopicRef {
        let Work { name, text, .. } = &mut self.work;
        let override_topic = kafka_obj
            .and_then(|k| scan::member(buf, k, b"topic", name))
            .filter(|t| t.is_string() && !t.str_body(buf).is_empty());
        if let Some(t) = override_topic {
            return event_topic(out, buf, t);
        }
        if !self.multi_topic {
            return self.default_topic;
        }
        let by_name = match present(view.event) {
            Some(e) if ty == EventType::Track && e.is_string() && !self.track_topics.is_empty() => {
                self.track_topics.get(decoded(buf, e, text))
            }
            _ => None,
        };
        by_name
            .or(self.type_topics[ty.index()])
            .unwrap_or(self.default_topic)
    }

    /// Appends a dead-letter record for `raw` (the event's original text).
    fn dead_letter(
        &mut self,
        out: &mut Routed,
        index: u32,
        raw: &[u8],
        reason: DlqReason,
        intended: Span,
    ) {
        const TRUNCATED: &str = " (event text truncated to fit message.max.bytes)";
        let header_start = out.headers.len();
        out.headers.push((
            self.dlq_reason_header,
            Some(self.reason_codes[reason.code_index()]),
        ));
        out.headers.push((self.dlq_topic_header, Some(intended)));
        let header_len: usize = out.headers[header_start..]
            .iter()
            .map(|(k, v)| k.len() + v.map_or(0, |v| v.len()))
            .sum();

        // The error text, with the truncation note, then JSON-escaped; both
        // in reused buffers.
        let Work { text, name, .. } = &mut self.work;
        name.clear();
        let _ = write!(name, "{reason}{TRUNCATED}");
        let message_len = name.len() - TRUNCATED.len();
        text.clear();
        scan::write_json_string(name, text);
        let fixed = br#"{"event":"","error":}"#.len() + text.len() + header_len;
        let budget = self.message_max_bytes.saturating_sub(fixed);

        let arena = &mut out.arena;
        let start = arena.len();
        arena.extend_from_slice(br#"{"event":"#);
        let cut = scan::write_json_string_limited(raw, arena, budget);
        arena.extend_from_slice(br#","error":"#);
        if cut {
            arena.extend_from_slice(text);
        } else {
            scan::write_json_string(&name[..message_len], arena);
        }
        arena.push(b'}');
        let chunk_start = out.chunks.len();
        out.chunks.push(Span::arena(start, arena.len()));

        let record = out.slots.len();
        out.slots.push(Slot {
            topic: self.dlq_topic,
            original_topic: None,
            key: None,
            partition: None,
            headers: (header_start as u32, out.headers.len() as u32),
            value: (chunk_start as u32, out.chunks.len() as u32),
            value_len: (arena.len() - start) as u32,
            event: index,
            format: ValueFormat::DeadLetter,
        });
        out.outcomes.push(Outcome::DeadLettered { record, reason });
        out.dead_lettered += 1;
        self.stats.dead_lettered += 1;
    }
}

/// The receive time, as milliseconds and as text.
struct Now {
    ms: i64,
    received: [u8; time::FORMATTED_LEN],
    /// `,"receivedAt":"<received>"`, appended whole to most events.
    member: [u8; RECEIVED_MEMBER_LEN],
}

const RECEIVED_MEMBER_LEN: usize = 16 + time::FORMATTED_LEN;

impl Now {
    fn new(ms: i64) -> Now {
        let received = time::format_millis(ms);
        let mut member = [0u8; RECEIVED_MEMBER_LEN];
        member[..15].copy_from_slice(b",\"receivedAt\":\"");
        member[15..15 + time::FORMATTED_LEN].copy_from_slice(&received);
        member[RECEIVED_MEMBER_LEN - 1] = b'"';
        Now {
            ms,
            received,
            member,
        }
    }
}

/// A string's contents: a body range, or decoded into the arena if escaped.
fn string_span(out: &mut Routed, buf: &[u8], v: Val) -> Span {
    if v.escaped() {
        let at = out.arena.len();
        scan::unescape_into(v.str_body(buf), &mut out.arena);
        Span::arena(at, out.arena.len())
    } else {
        Span::body(v.start() + 1, v.end() - 1)
    }
}

/// Drops what the arena gained from `mark` on, except the bytes of `kept`
/// when it lies there (an event's topic, unescaped or sanitised), which
/// move to `mark`. Returns where `kept` is now.
fn keep_only(arena: &mut Vec<u8>, mark: usize, kept: Span) -> Span {
    let (start, end) = (kept.start as usize, kept.end as usize);
    if kept.src != Src::Arena || start < mark || end > arena.len() {
        arena.truncate(mark);
        return kept;
    }
    arena.copy_within(start..end, mark);
    arena.truncate(mark + (end - start));
    Span::arena(mark, arena.len())
}

/// The topic named by an event: used as is when legal, else sanitised into
/// the arena with the original kept.
fn event_topic(out: &mut Routed, buf: &[u8], t: Val) -> TopicRef {
    let original = string_span(out, buf, t);
    if topic::is_legal(out.bytes(original)) {
        return TopicRef {
            topic: original,
            original: None,
        };
    }
    let at = out.arena.len();
    let range = original.start as usize..original.end as usize;
    match original.src {
        Src::Body => out
            .arena
            .extend_from_slice(buf.get(range).unwrap_or_default()),
        _ => out.arena.extend_from_within(range),
    }
    topic::sanitize_tail(&mut out.arena, at);
    TopicRef {
        topic: Span::arena(at, out.arena.len()),
        original: Some(original),
    }
}
