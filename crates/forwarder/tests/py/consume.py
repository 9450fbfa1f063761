"""Reads topics from the beginning with librdkafka (confluent-kafka,
check.crcs=true) and writes one JSON line per record:

  {"t": topic, "p": partition, "o": offset, "k": key or null,
   "v": value as UTF-8 text or null, "h": [[key, value or null], ...],
   "avro": the value decoded with fastavro (only for --avro topics)}

  consume.py --bootstrap HOST:PORT --topics a,b [--avro TOPIC=SCHEMA_FILE]

Reads every partition to its end; exits non-zero on any consumer error. The
end is not a watermark: a partition is read until librdkafka's
end-of-partition event and then until --quiet seconds pass without a record
from it (that event comes when a fetch starts at the high watermark the
broker reports, and the records of that fetch's response are dropped: a
broker that serves records past its reported watermark has them delivered
by the next fetch only).
"""

import argparse
import io
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--avro", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--quiet", type=float, default=0.3)
    args = ap.parse_args()

    schemas = {}
    for spec in args.avro:
        import fastavro
        topic, path = spec.split("=", 1)
        with open(path) as f:
            schemas[topic] = fastavro.parse_schema(json.load(f))

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": "forwarder-tests",
        "enable.auto.commit": False,
        "check.crcs": True,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
        # A fetch at the end of a partition is answered within this, well
        # inside --quiet.
        "fetch.wait.max.ms": 20,
    })
    assignment = []
    for topic in args.topics.split(","):
        md = consumer.list_topics(topic, timeout=30)
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None:
            raise SystemExit(f"topic {topic}: {tmd.error if tmd else 'missing'}")
        for p in sorted(tmd.partitions):
            assignment.append(TopicPartition(topic, p, 0))
    # Partition -> when its end-of-partition event came, or its last record
    # after that event (None before the event).
    quiet_since = {(tp.topic, tp.partition): None for tp in assignment}
    consumer.assign(assignment)
    deadline = time.monotonic() + args.timeout
    out = sys.stdout

    def reading():
        now = time.monotonic()
        return [tp for tp, t in quiet_since.items() if t is None or now - t < args.quiet]

    while reading():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; still reading {sorted(reading())}")
        for m in consumer.consume(num_messages=10000, timeout=0.1):
            err = m.error()
            tp = (m.topic(), m.partition())
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    quiet_since[tp] = quiet_since[tp] or time.monotonic()
                    continue
                raise KafkaException(err)
            if quiet_since[tp] is not None:
                quiet_since[tp] = time.monotonic()
            v = m.value()
            k = m.key()
            rec = {
                "t": m.topic(), "p": m.partition(), "o": m.offset(),
                "k": k.decode() if k is not None else None,
                "v": v.decode("utf-8", "replace") if v is not None else None,
                "h": [[hk, hv.decode() if hv is not None else None]
                      for hk, hv in (m.headers() or [])],
            }
            if m.topic() in schemas and v is not None:
                import fastavro
                rec["avro"] = fastavro.schemaless_reader(io.BytesIO(v), schemas[m.topic()])
            out.write(json.dumps(rec, default=str) + "\n")
    consumer.close()


if __name__ == "__main__":
    main()
