#!/usr/bin/env python3
"""Reads topics from the beginning with librdkafka (confluent-kafka), CRC
checks on, and writes one JSON line per record to stdout:

  {"t": topic, "p": partition, "o": offset, "k": key or null,
   "s": value up to its first "|" (the sequence part) or null,
   "n": value length (-1 for null), "c": CRC-32 (zlib) of the value,
   "h": [[key, value or null], ...], "tt": timestamp type, "ts": timestamp}

It reads every partition up to its end, and exits non-zero on any consumer
error (a CRC mismatch included). The end is not a watermark: a partition is
read until librdkafka's end-of-partition event and then until --quiet
seconds pass without a record. librdkafka raises that event when a fetch
starts at the high watermark the broker's Fetch response reports, and drops
the records of that response: a broker that serves records past the
watermark it reports (Tansu 0.6's ListOffsets answers the last batch's base
offset) has them delivered by the next fetch only.

  verify.py --bootstrap HOST:PORT --topics a,b,c [--timeout SECONDS] [--quiet SECONDS]
"""

import argparse
import json
import sys
import time
import zlib

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--quiet", type=float, default=0.3)
    args = ap.parse_args()

    conf = {
        "bootstrap.servers": args.bootstrap,
        "group.id": "forwarder-e2e-verify",
        "enable.auto.commit": False,
        "check.crcs": True,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
        "fetch.max.bytes": 16 * 1024 * 1024,
        "max.partition.fetch.bytes": 4 * 1024 * 1024,
        "fetch.wait.max.ms": 20,
    }
    consumer = Consumer(conf)
    deadline = time.monotonic() + args.timeout

    assignment = []
    high = {}
    for topic in args.topics.split(","):
        md = consumer.list_topics(topic, timeout=30)
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None:
            raise SystemExit(f"topic {topic}: {tmd.error if tmd else 'missing'}")
        for p in sorted(tmd.partitions):
            _, hi = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            high[(topic, p)] = hi
            assignment.append(TopicPartition(topic, p, 0))
    # Tansu's ListOffsets "latest" can lag behind the log (it answered the
    # last batch's base offset): these watermarks are printed, never used to
    # decide where a partition ends.
    print(
        json.dumps({"watermarks": [[t, p, hi] for (t, p), hi in sorted(high.items())]}),
        flush=False,
    )
    # One partition at a time: with its sqlite storage, Tansu answered a
    # fetch of several partitions with the first one's records only.
    out = sys.stdout
    for tp in assignment:
        consumer.assign([tp])
        # When the end-of-partition event came, or the last record after it.
        quiet_since = None
        while quiet_since is None or time.monotonic() - quiet_since < args.quiet:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out reading {tp.topic} [{tp.partition}]")
            # consume() returns early only once it holds num_messages, so
            # the call that reaches the end of a partition waits out its
            # timeout: 0.1 s, not 1 s, per partition (Tansu answered a
            # partition's whole log in one fetch here).
            for m in consumer.consume(num_messages=10000, timeout=0.1):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        quiet_since = quiet_since or time.monotonic()
                        continue
                    raise KafkaException(err)
                emit(out, m)
                if quiet_since is not None:
                    quiet_since = time.monotonic()
        consumer.unassign()
    consumer.close()
    out.flush()


def emit(out, m):
    v = m.value()
    k = m.key()
    hs = m.headers() or []
    tt, ts = m.timestamp()
    out.write(
        json.dumps(
            {
                "t": m.topic(),
                "p": m.partition(),
                "o": m.offset(),
                "k": None if k is None else k.decode("utf-8", "replace"),
                "s": None if v is None else v.split(b"|", 1)[0].decode("ascii", "replace"),
                "n": -1 if v is None else len(v),
                "c": 0 if v is None else zlib.crc32(v),
                "h": [[hk, None if hv is None else hv.decode("utf-8", "replace")] for hk, hv in hs],
                "tt": tt,
                "ts": ts,
            },
            separators=(",", ":"),
        )
    )
    out.write("\n")


if __name__ == "__main__":
    main()
