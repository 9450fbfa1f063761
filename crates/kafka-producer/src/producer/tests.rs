use bytes::BytesMut;
use kafka_wire::record::Compression;

use super::batch::{initial_batch_capacity, INITIAL_BATCH_CAPACITY};
use super::idempotence::IdState;
use super::*;

#[test]
fn a_new_batch_buffer_starts_as_large_as_the_last_batch() {
    let limit = 1024 * 1024;
    // First batch of a partition, and small batches: the default.
    assert_eq!(initial_batch_capacity(limit, 0), INITIAL_BATCH_CAPACITY);
    assert_eq!(initial_batch_capacity(limit, 5_000), INITIAL_BATCH_CAPACITY);
    // A busy partition starts where it ended, rounded up.
    assert_eq!(initial_batch_capacity(limit, 300_000), 512 * 1024);
    assert_eq!(initial_batch_capacity(limit, 1_000_000), limit);
    // Never above the batch limit, also when the limit is small.
    assert_eq!(initial_batch_capacity(limit, usize::MAX), limit);
    assert_eq!(initial_batch_capacity(16 * 1024, 0), 16 * 1024);
}

#[test]
fn sequence_wraps_at_i32_max() {
    assert_eq!(increment_sequence(0, 5), 5);
    assert_eq!(increment_sequence(i32::MAX - 5, 5), i32::MAX);
    assert_eq!(increment_sequence(i32::MAX, 1), 0);
    assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    assert_eq!(increment_sequence(i32::MAX, i32::MAX), i32::MAX - 1);
}

#[test]
fn backoff_doubles_to_cap() {
    let b = Duration::from_millis(100);
    let m = Duration::from_millis(1000);
    assert_eq!(backoff(b, m, 0), b);
    assert_eq!(backoff(b, m, 1), b);
    assert_eq!(backoff(b, m, 2), b * 2);
    assert_eq!(backoff(b, m, 4), b * 8);
    assert_eq!(backoff(b, m, 5), m);
    assert_eq!(backoff(b, m, 400), m);
}

fn producer(props: &[(&str, &str)]) -> (Producer, Instant) {
    let mut all = vec![("bootstrap.servers", "b:9092")];
    all.extend_from_slice(props);
    let cfg = ProducerConfig::from_properties(all).unwrap();
    let now = Instant::now();
    (Producer::new(cfg, now).unwrap(), now)
}

/// Gives the producer a topic with `n` partitions led by node 0 without
/// a broker, for tests of accumulation and sealing.
fn with_topic(p: &mut Producer, topic: &str, n: usize) -> usize {
    let ti = p.intern(topic);
    p.brokers
        .nodes
        .insert(0, super::broker::Broker::new("h".into(), 1));
    for i in 0..n {
        let mut part = PartitionBuffer::new(ti, i as i32);
        part.leader = Some(0);
        p.parts.push(part);
        let pi = p.parts.len() - 1;
        p.topics[ti].parts.push(pi);
    }
    p.topics[ti].state = TopicState::Ready;
    ti
}

fn rec<'a>(topic: &'a str, key: Option<&'a [u8]>, value: &'a [u8]) -> RecordRef<'a> {
    RecordRef {
        topic,
        partition: None,
        key,
        value: Some(value),
        headers: &[],
        timestamp: 1_700_000_000_000,
    }
}

#[test]
#[cfg(feature = "zstd")]
fn compressed_seal_keeps_accounting_and_recycles_the_buffer() {
    use kafka_wire::compression::Decompressor;
    use kafka_wire::record::RecordBatch;
    let (mut p, now) = producer(&[("compression.type", "zstd")]);
    let ti = with_topic(&mut p, "t", 1);
    p.id.state = IdState::Ready;
    let pi = p.topics[ti].parts[0];
    let value = br#"{"type":"track","event":"Order Completed","userId":"u-1"}"#;
    for _ in 0..50 {
        p.append(rec("t", Some(b"k"), value), now).unwrap();
    }
    p.parts[pi].close_open();
    let uncompressed = p.parts[pi].queue[0].bytes;
    let buffered = p.buffered;
    p.seal(pi, 0);
    let b = &p.parts[pi].queue[0];
    let BatchData::Sealed(bytes) = &b.data else {
        panic!("not sealed");
    };
    let view = RecordBatch::parse(bytes.clone()).unwrap();
    view.verify_crc().unwrap();
    assert_eq!(view.compression(), Compression::Zstd);
    assert_eq!(view.base_sequence(), 0);
    // Accounting stays on uncompressed bytes; the wire size is smaller.
    assert_eq!((b.bytes, p.buffered), (uncompressed, buffered));
    assert!(b.wire_len() < uncompressed / 4, "{}", b.wire_len());
    let n = view
        .records_decompressed(&mut Decompressor::new())
        .unwrap()
        .map(Result::unwrap)
        .filter(|r| r.value.as_deref() == Some(&value[..]))
        .count();
    assert_eq!(n, 50);
    // The builder's buffer is kept and starts the next batch.
    assert_eq!(p.pool.spare_buffers.len(), 1);
    p.append(rec("t", Some(b"k"), value), now).unwrap();
    assert!(p.pool.spare_buffers.is_empty());
}

#[test]
fn the_clock_is_read_when_a_batch_opens_not_per_record() {
    let (mut p, t0) = producer(&[("linger.ms", "5")]);
    let ti = with_topic(&mut p, "t", 1);
    let pi = p.topics[ti].parts[0];
    let reads = std::cell::Cell::new(0);
    let at = std::cell::Cell::new(t0);
    let clock = || {
        reads.set(reads.get() + 1);
        at.get()
    };
    for i in 0..10 {
        at.set(t0 + Duration::from_millis(i));
        p.append(rec("t", Some(b"k"), b"v"), clock).unwrap();
    }
    assert_eq!(
        reads.get(),
        1,
        "one read, by the record that opened the batch"
    );
    let open = p.parts[pi].open.as_ref().unwrap();
    assert_eq!((open.count, open.created), (10, t0));
    // Linger and delivery timeout run from the batch's first record.
    assert_eq!(p.poll_timeout(), Some(t0 + Duration::from_millis(5)));
    // The next batch reads the clock again.
    p.parts[pi].close_open();
    at.set(t0 + Duration::from_millis(20));
    p.append(rec("t", Some(b"k"), b"v"), clock).unwrap();
    assert_eq!(reads.get(), 2);
    let open = p.parts[pi].open.as_ref().unwrap();
    assert_eq!(open.created, t0 + Duration::from_millis(20));
}

#[test]
fn a_finished_batch_buffer_starts_a_later_batch() {
    let (mut p, now) = producer(&[]);
    let ti = with_topic(&mut p, "t", 1);
    p.id.state = IdState::Ready;
    let pi = p.topics[ti].parts[0];
    p.append(rec("t", Some(b"k"), b"v"), now).unwrap();
    p.parts[pi].close_open();
    p.seal(pi, 0);
    let BatchData::Sealed(sent) = &p.parts[pi].queue[0].data else {
        panic!("not sealed");
    };
    // A request still holding the bytes: they are not reused.
    let in_request = sent.clone();
    p.succeed(pi, 0, 0);
    assert!(p.pool.spare_buffers.is_empty());
    drop(in_request);
    p.append(rec("t", Some(b"k"), b"v"), now).unwrap();
    p.parts[pi].close_open();
    p.seal(pi, 0);
    let BatchData::Sealed(sent) = &p.parts[pi].queue[0].data else {
        panic!("not sealed");
    };
    let first = sent.clone();
    let ptr = first.as_ptr();
    drop(first);
    p.succeed(pi, 0, 1);
    assert_eq!(p.pool.spare_buffers.len(), 1);
    assert_eq!(p.pool.spare_buffers[0].as_ptr(), ptr, "the same allocation");
    assert!(p.pool.spare_buffers[0].is_empty());
    p.append(rec("t", Some(b"k"), b"v"), now).unwrap();
    assert!(p.pool.spare_buffers.is_empty());
    assert_eq!(p.parts[pi].open.as_ref().unwrap().count, 1);
    assert_eq!(p.buffered, p.parts[pi].open.as_ref().unwrap().bytes);
}

#[test]
fn spare_buffers_stay_within_the_memory_budget() {
    let (mut p, _) = producer(&[("buffer.memory", "300000")]);
    // 64 KiB buffers: four fit in 300,000 bytes, the fifth does not.
    for i in 0..6 {
        p.pool
            .keep_spare(BytesMut::with_capacity(INITIAL_BATCH_CAPACITY));
        assert_eq!(p.pool.spare_buffers.len(), (i + 1).min(4));
    }
    let held: usize = p.pool.spare_buffers.iter().map(BytesMut::capacity).sum();
    assert_eq!(p.pool.spare_bytes, held);
    assert!(held <= 300_000);
    // Taking one for a batch gives its room back.
    with_topic(&mut p, "t", 1);
    p.id.state = IdState::Ready;
    p.append(rec("t", Some(b"k"), b"v"), Instant::now).unwrap();
    assert_eq!(p.pool.spare_buffers.len(), 3);
    let held: usize = p.pool.spare_buffers.iter().map(BytesMut::capacity).sum();
    assert_eq!(p.pool.spare_bytes, held);
    p.pool
        .keep_spare(BytesMut::with_capacity(INITIAL_BATCH_CAPACITY));
    assert_eq!(p.pool.spare_buffers.len(), 4);
}

#[test]
fn seal_assigns_wrapping_sequences() {
    let (mut p, now) = producer(&[]);
    let ti = with_topic(&mut p, "t", 1);
    p.id.set_ready((9, 2));
    let pi = p.topics[ti].parts[0];
    p.parts[pi].next_seq = i32::MAX - 1;
    for _ in 0..3 {
        p.append(rec("t", Some(b"k"), b"v"), now).unwrap();
    }
    p.parts[pi].close_open();
    for _ in 0..2 {
        p.append(rec("t", Some(b"k"), b"v"), now).unwrap();
    }
    p.parts[pi].close_open();
    p.seal(pi, 0);
    p.seal(pi, 1);
    let view = |b: &Batch| match &b.data {
        BatchData::Sealed(bytes) => kafka_wire::record::RecordBatch::parse(bytes.clone()).unwrap(),
        BatchData::Building(_) => panic!("not sealed"),
    };
    let first = view(&p.parts[pi].queue[0]);
    let second = view(&p.parts[pi].queue[1]);
    first.verify_crc().unwrap();
    assert_eq!(first.base_sequence(), i32::MAX - 1);
    assert_eq!(first.producer_id(), 9);
    assert_eq!(first.producer_epoch(), 2);
    assert_eq!(second.base_sequence(), 1);
    assert_eq!(p.parts[pi].next_seq, 3);
}

#[test]
fn parts_are_appended_as_the_joined_value() {
    let parts: [&[u8]; 3] = [b"{\"type\":", b"\"track\"", b"}"];
    let joined = parts.concat();
    let mut sealed = Vec::new();
    for split in [false, true] {
        let (mut p, now) = producer(&[]);
        let ti = with_topic(&mut p, "t", 1);
        p.id.state = IdState::Ready;
        let pi = p.topics[ti].parts[0];
        for _ in 0..3 {
            let r = rec("t", Some(b"k"), &joined);
            if split {
                p.append_parts(RecordRef { value: None, ..r }, &parts, now)
            } else {
                p.append(r, now)
            }
            .unwrap();
        }
        p.parts[pi].close_open();
        let buffered = p.buffered;
        p.seal(pi, 0);
        let BatchData::Sealed(bytes) = &p.parts[pi].queue[0].data else {
            panic!("not sealed");
        };
        sealed.push((bytes.clone(), buffered));
    }
    assert_eq!(sealed[0], sealed[1]);
}

#[test]
fn sticky_partition_switches_when_batch_closes() {
    let (mut p, now) = producer(&[("batch.num.messages", "3")]);
    let ti = with_topic(&mut p, "t", 4);
    let mut partitions = Vec::new();
    for _ in 0..12 {
        p.append(rec("t", None, b"v"), now).unwrap();
        partitions.push(p.topics[ti].sticky.unwrap().0);
    }
    // Three records per batch stick together, then the partition changes.
    for chunk in partitions.chunks(3) {
        assert!(chunk.iter().all(|x| *x == chunk[0]), "{partitions:?}");
    }
    for w in partitions.chunks(3).collect::<Vec<_>>().windows(2) {
        assert_ne!(w[0][0], w[1][0], "{partitions:?}");
    }
}

#[test]
fn keyed_records_follow_murmur2() {
    let (mut p, now) = producer(&[]);
    let ti = with_topic(&mut p, "t", 12);
    p.append(rec("t", Some(b"foobar"), b"v"), now).unwrap();
    let want = kafka_wire::murmur2::partition_for_key(b"foobar", 12) as usize;
    let pi = p.topics[ti].parts[want];
    assert_eq!(p.parts[pi].open.as_ref().map(|b| b.count), Some(1));
}

#[test]
fn buffer_memory_is_a_budget() {
    let (mut p, now) = producer(&[("buffer.memory", "2000")]);
    with_topic(&mut p, "t", 1);
    let v = [0u8; 300];
    let mut ok = 0;
    loop {
        match p.append(rec("t", None, &v), now) {
            Ok(_) => ok += 1,
            Err(AppendError::BufferFull) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(ok >= 4, "{ok}");
    assert!(p.buffered_bytes() <= 2000);
}

#[test]
fn oversized_record_and_bad_partition_are_refused() {
    let (mut p, now) = producer(&[("message.max.bytes", "2048")]);
    with_topic(&mut p, "t", 2);
    let big = vec![0u8; 4096];
    assert!(matches!(
        p.append(rec("t", None, &big), now),
        Err(AppendError::RecordTooLarge { .. })
    ));
    let mut r = rec("t", None, b"v");
    r.partition = Some(2);
    assert!(matches!(
        p.append(r, now),
        Err(AppendError::UnknownPartition {
            partition: 2,
            partitions: 2
        })
    ));
    r.partition = Some(1);
    assert!(p.append(r, now).is_ok());
}
