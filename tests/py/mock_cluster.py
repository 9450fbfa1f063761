#!/usr/bin/env python3
"""A librdkafka mock cluster (rdkafka_mock.h) driven over stdin.

It loads the librdkafka that the confluent-kafka wheel bundles
(site-packages/confluent_kafka.libs/librdkafka-*.so.1) with ctypes, creates
a mock cluster of N brokers (ids 1..N) on loopback ports, writes one JSON
line {"bootstrap": "host:port,..."} to stdout and then answers one line per
command read from stdin: "ok", or "error: ..." on a failure.

  topic NAME PARTITIONS RF               create a topic
  leader TOPIC PARTITION BROKER          move a partition's leader (-1: none)
  down BROKER / up BROKER                close a broker's connections and refuse
                                         new ones / accept again (-1: all)
  errors APIKEY CODE[,CODE...]           the next requests of that API, on any
                                         broker, fail with these codes in turn
  broker_errors BROKER APIKEY CODE:RTT_MS[,CODE:RTT_MS...]
                                         the same on one broker, each answer
                                         delayed by RTT_MS (code 0: succeed)
  pending BROKER APIKEY                  how many of those are left: "ok N"
  rtt BROKER MS                          delay every answer of a broker
  clear APIKEY                           drop the cluster-wide errors left
  apiversion APIKEY MIN MAX              the versions the cluster offers
  quit

An injected error answers the request without writing its records. The mock
deduplicates only transactional producers. It exits when stdin closes.

  mock_cluster.py BROKERS
"""

import ctypes
import glob
import json
import os
import sys

import confluent_kafka


def load_librdkafka():
    pkg = os.path.dirname(confluent_kafka.__file__)
    libs = sorted(glob.glob(os.path.join(os.path.dirname(pkg), "confluent_kafka.libs", "librdkafka*.so*")))
    if not libs:
        raise SystemExit(f"no bundled librdkafka next to {pkg}")
    lib = ctypes.CDLL(libs[0])
    p, i, i16, i32, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_int16, ctypes.c_int32, ctypes.c_char_p
    sigs = {
        "rd_kafka_conf_new": (p, []),
        "rd_kafka_conf_set": (i, [p, s, s, s, ctypes.c_size_t]),
        "rd_kafka_new": (p, [i, p, s, ctypes.c_size_t]),
        "rd_kafka_destroy": (None, [p]),
        "rd_kafka_err2str": (s, [i]),
        "rd_kafka_mock_cluster_new": (p, [p, i]),
        "rd_kafka_mock_cluster_destroy": (None, [p]),
        "rd_kafka_mock_cluster_bootstraps": (s, [p]),
        "rd_kafka_mock_topic_create": (i, [p, s, i, i]),
        "rd_kafka_mock_partition_set_leader": (i, [p, s, i32, i32]),
        "rd_kafka_mock_broker_set_down": (i, [p, i32]),
        "rd_kafka_mock_broker_set_up": (i, [p, i32]),
        "rd_kafka_mock_broker_set_rtt": (i, [p, i32, i]),
        "rd_kafka_mock_push_request_errors_array": (None, [p, i16, ctypes.c_size_t, ctypes.POINTER(i)]),
        # Variadic: (err, rtt_ms) int pairs follow the fixed arguments.
        "rd_kafka_mock_broker_push_request_error_rtts": (i, None),
        "rd_kafka_mock_broker_error_stack_cnt": (i, [p, i32, i16, ctypes.POINTER(ctypes.c_size_t)]),
        "rd_kafka_mock_clear_request_errors": (None, [p, i16]),
        "rd_kafka_mock_set_apiversion": (i, [p, i16, i16, i16]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        if args is not None:
            f.argtypes = args
    return lib


class Cluster:
    def __init__(self, lib, brokers):
        self.lib = lib
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        # The handle only hosts the cluster: it connects nowhere, so keep
        # its "no bootstrap.servers" notice out of the log.
        lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, len(errstr))
        self.rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))  # RD_KAFKA_PRODUCER
        if not self.rk:
            raise SystemExit(f"rd_kafka_new: {errstr.value.decode()}")
        self.mc = lib.rd_kafka_mock_cluster_new(self.rk, brokers)
        if not self.mc:
            raise SystemExit("rd_kafka_mock_cluster_new failed")

    def bootstrap(self):
        return self.lib.rd_kafka_mock_cluster_bootstraps(self.mc).decode()

    def check(self, err):
        if err:
            raise RuntimeError(f"{self.lib.rd_kafka_err2str(err).decode()} ({err})")

    def run(self, words):
        """Applies one command; returns what follows "ok" in the answer."""
        lib, mc = self.lib, self.mc
        cmd, args = words[0], words[1:]
        if cmd == "topic":
            name, parts, rf = args
            self.check(lib.rd_kafka_mock_topic_create(mc, name.encode(), int(parts), int(rf)))
        elif cmd == "leader":
            topic, part, broker = args
            self.check(lib.rd_kafka_mock_partition_set_leader(mc, topic.encode(), int(part), int(broker)))
        elif cmd == "down":
            (broker,) = args
            self.check(lib.rd_kafka_mock_broker_set_down(mc, int(broker)))
        elif cmd == "up":
            (broker,) = args
            self.check(lib.rd_kafka_mock_broker_set_up(mc, int(broker)))
        elif cmd == "errors":
            api_key, codes = args
            errs = [int(c) for c in codes.split(",")]
            arr = (ctypes.c_int * len(errs))(*errs)
            lib.rd_kafka_mock_push_request_errors_array(mc, int(api_key), len(errs), arr)
        elif cmd == "broker_errors":
            broker, api_key, pairs = args
            flat = []
            for pair in pairs.split(","):
                code, rtt = pair.split(":")
                flat += [ctypes.c_int(int(code)), ctypes.c_int(int(rtt))]
            self.check(
                lib.rd_kafka_mock_broker_push_request_error_rtts(
                    ctypes.c_void_p(mc),
                    ctypes.c_int32(int(broker)),
                    ctypes.c_int16(int(api_key)),
                    ctypes.c_size_t(len(flat) // 2),
                    *flat,
                )
            )
        elif cmd == "pending":
            broker, api_key = args
            cnt = ctypes.c_size_t(0)
            self.check(lib.rd_kafka_mock_broker_error_stack_cnt(mc, int(broker), int(api_key), ctypes.byref(cnt)))
            return str(cnt.value)
        elif cmd == "rtt":
            broker, ms = args
            self.check(lib.rd_kafka_mock_broker_set_rtt(mc, int(broker), int(ms)))
        elif cmd == "clear":
            (api_key,) = args
            lib.rd_kafka_mock_clear_request_errors(mc, int(api_key))
        elif cmd == "apiversion":
            api_key, lo, hi = args
            self.check(lib.rd_kafka_mock_set_apiversion(mc, int(api_key), int(lo), int(hi)))
        else:
            raise RuntimeError(f"unknown command {cmd!r}")
        return None

    def close(self):
        self.lib.rd_kafka_mock_cluster_destroy(self.mc)
        self.lib.rd_kafka_destroy(self.rk)


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: mock_cluster.py BROKERS")
    cluster = Cluster(load_librdkafka(), int(sys.argv[1]))
    print(json.dumps({"bootstrap": cluster.bootstrap()}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            print("ok", flush=True)
            break
        try:
            result = cluster.run(words)
            answer = "ok" if result is None else f"ok {result}"
        except (ValueError, RuntimeError) as e:
            answer = f"error: {e}"
        print(answer, flush=True)
    cluster.close()


if __name__ == "__main__":
    main()
