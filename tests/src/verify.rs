//! Reads what the broker holds with librdkafka (`tests/py/verify.py`, CRC
//! checks on) and checks it against the workload and the outcomes the
//! producer reported.

use std::collections::HashMap;
use std::process::Command;

use kafka_net::Outcome;
use kafka_wire::murmur2::partition_for_key;
use serde_json::Value;

use crate::deps;
use crate::workload::{Planned, Workload};

/// One record as the consumer saw it.
#[derive(Debug, Clone)]
pub struct Consumed {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key, if not null.
    pub key: Option<String>,
    /// The value up to its first `|`.
    pub seq: Option<String>,
    /// Value length (-1: null).
    pub len: i64,
    /// CRC-32 (IEEE) of the value.
    pub crc: u32,
    /// Headers in order.
    pub headers: Vec<(String, Option<String>)>,
    /// librdkafka's timestamp type (1: create time).
    pub ts_type: i64,
    /// Timestamp.
    pub ts: i64,
}

/// Consumes `topics` from the beginning to the end of every partition: to
/// librdkafka's end-of-partition event, then until a quiet period passes
/// without a record (records a broker serves past the watermark it
/// reports come after that event), never to a watermark read before.
pub fn consume(bootstrap: &str, topics: &[&str]) -> Vec<Consumed> {
    deps::ensure_python();
    let script = deps::workspace_root().join("tests/py/verify.py");
    let start = std::time::Instant::now();
    let out = Command::new(deps::python())
        .arg(script)
        .arg("--bootstrap")
        .arg(bootstrap)
        .arg("--topics")
        .arg(topics.join(","))
        .output()
        .expect("run verify.py");
    assert!(
        out.status.success(),
        "verify.py failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("verify.py writes UTF-8");
    let elapsed = start.elapsed();
    let mut lines = text.lines();
    let watermarks = lines.next().expect("watermark line");
    eprintln!(
        "verify.py: {} records read in {elapsed:.1?}; {watermarks}",
        lines.clone().count()
    );
    lines
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("JSON line");
            let s = |k: &str| v[k].as_str().map(str::to_owned);
            let i = |k: &str| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {line}"));
            Consumed {
                topic: s("t").expect("topic"),
                partition: i("p") as i32,
                offset: i("o"),
                key: s("k"),
                seq: s("s"),
                len: i("n"),
                crc: i("c") as u32,
                headers: v["h"]
                    .as_array()
                    .expect("headers")
                    .iter()
                    .map(|h| {
                        (
                            h[0].as_str().expect("header key").to_owned(),
                            h[1].as_str().map(str::to_owned),
                        )
                    })
                    .collect(),
                ts_type: i("tt"),
                ts: i("ts"),
            }
        })
        .collect()
}

/// Counts from [`check`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Records the consumer read.
    pub consumed: usize,
    /// Outcomes `Persisted`.
    pub persisted: usize,
    /// Outcomes `NotPersisted`.
    pub not_persisted: usize,
    /// Outcomes `PossiblyPersisted`, and how many of them were found.
    pub possibly: usize,
    /// `PossiblyPersisted` records found in the log.
    pub possibly_found: usize,
}

/// Checks the log against the workload and the outcomes; panics with the
/// first violations found:
///
/// - every consumed record is one of ours, with its topic, key, value,
///   headers and create time intact, in the partition murmur2 of its key
///   names;
/// - no record appears twice;
/// - within each partition, each key's sequence numbers increase;
/// - `Persisted` records are present exactly once (at the reported
///   partition, and offset when one was reported), `NotPersisted` ones are
///   absent, `PossiblyPersisted` ones appear at most once.
pub fn check(w: &Workload, plan: &[Planned], outcomes: &[Outcome], log: &[Consumed]) -> Summary {
    let mut errors: Vec<String> = Vec::new();
    let mut err = |e: String| {
        if errors.len() < 20 {
            errors.push(e);
        }
    };
    let parts: HashMap<&str, u32> = w
        .topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions))
        .collect();
    let mut seen: Vec<Option<(i32, i64)>> = vec![None; plan.len()];
    let mut value = Vec::new();
    // (topic, key) -> last sequence seen, in offset order per partition.
    let mut last_seq: HashMap<(String, String), (i32, i64, u32)> = HashMap::new();
    let mut sorted: Vec<&Consumed> = log.iter().collect();
    sorted
        .sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    for c in sorted {
        let at = format!("{} [{}] @{}", c.topic, c.partition, c.offset);
        let id = c
            .headers
            .first()
            .filter(|(k, _)| k == "id")
            .and_then(|(_, v)| v.as_deref())
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|id| *id < plan.len());
        let Some(id) = id else {
            err(format!("{at}: not a record of this run: {c:?}"));
            continue;
        };
        if let Some(first) = seen[id] {
            err(format!("{at}: record {id} duplicated (first at {first:?})"));
            continue;
        }
        seen[id] = Some((c.partition, c.offset));
        let p = &plan[id];
        let topic = &w.topics[p.topic as usize];
        let key = Workload::key(p.key);
        if c.topic != topic.name || c.key.as_deref() != Some(key.as_str()) {
            err(format!(
                "{at}: record {id} expected in {} with key {key}: {c:?}",
                topic.name
            ));
            continue;
        }
        let n = parts.get(c.topic.as_str()).copied().unwrap_or(0);
        let want = partition_for_key(key.as_bytes(), n) as i32;
        if c.partition != want {
            err(format!(
                "{at}: record {id} key {key} belongs to partition {want}"
            ));
        }
        w.value_into(id, p, &mut value);
        if c.len != value.len() as i64
            || c.crc != crc32fast::hash(&value)
            || c.seq.as_deref() != Some(p.seq.to_string().as_str())
        {
            err(format!("{at}: record {id} value differs: {c:?}"));
        }
        let headers: Vec<(String, Option<String>)> = w.headers(id).into();
        if c.headers != headers {
            err(format!(
                "{at}: record {id} headers {:?} != {headers:?}",
                c.headers
            ));
        }
        if c.ts_type != 1 || c.ts != w.timestamp(id) {
            err(format!(
                "{at}: record {id} timestamp ({}, {}) != create time {}",
                c.ts_type,
                c.ts,
                w.timestamp(id)
            ));
        }
        let slot = last_seq.entry((c.topic.clone(), key.clone()));
        match slot {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let (pp, po, ps) = *o.get();
                if pp != c.partition || ps >= p.seq {
                    err(format!(
                        "{at}: key {key} seq {} after seq {ps} at [{pp}] @{po}: order broken",
                        p.seq
                    ));
                }
                o.insert((c.partition, c.offset, p.seq));
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((c.partition, c.offset, p.seq));
            }
        }
    }
    let mut s = Summary {
        consumed: log.len(),
        ..Summary::default()
    };
    for (id, o) in outcomes.iter().enumerate() {
        match (o, seen[id]) {
            (Outcome::Persisted { partition, offset }, Some((p, off))) => {
                s.persisted += 1;
                if *partition != p || (*offset >= 0 && *offset != off) {
                    err(format!(
                        "record {id} reported at [{partition}] @{offset}, found at [{p}] @{off}"
                    ));
                }
            }
            (Outcome::Persisted { .. }, None) => {
                s.persisted += 1;
                err(format!("record {id} reported {o:?} but is missing: lost"));
            }
            (Outcome::NotPersisted(_), None) => s.not_persisted += 1,
            (Outcome::NotPersisted(_), Some(at)) => {
                s.not_persisted += 1;
                err(format!("record {id} reported {o:?} but found at {at:?}"));
            }
            (Outcome::PossiblyPersisted(_), found) => {
                s.possibly += 1;
                s.possibly_found += usize::from(found.is_some());
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} problem(s), first ones:\n{}",
        errors.len(),
        errors.join("\n")
    );
    s
}
