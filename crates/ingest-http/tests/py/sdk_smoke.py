"""Sends events with the official Segment and RudderStack Python SDKs.

Usage: sdk_smoke.py HOST  (e.g. http://127.0.0.1:8080)

Each SDK sends every call type in sync mode (one request per call) and a
batch through its background consumer. Any error raises or is collected,
and the script exits non-zero. Prints one line per SDK with the count of
calls made. Checked with segment-analytics-python 2.4.0 and
rudder-sdk-python 2.1.9.
"""

import sys

from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient


def exercise(name, make, key, batch_size):
    errors = []

    def on_error(e, batch):
        errors.append(e)

    sync = make(key, sync=True, on_error=on_error)
    sync.track(user_id="u1", event=f"{name} Track", properties={"n": 1})
    sync.identify(user_id="u1", traits={"email": "a@example.com"})
    sync.page(user_id="u1", name="Home")
    sync.screen(user_id="u1", name="Main")
    sync.group(user_id="u1", group_id="g1", traits={"plan": "pro"})
    sync.alias(previous_id="anon-1", user_id="u1")

    batched = make(key, sync=False, on_error=on_error)
    for i in range(batch_size):
        batched.track(user_id=f"b{i}", event=f"{name} Batched", properties={"i": i})
    batched.flush()
    batched.join()

    if errors:
        raise SystemExit(f"{name}: {errors!r}")
    print(f"{name} {6 + batch_size}")


def main():
    host = sys.argv[1]

    def segment(key, sync, on_error):
        return SegmentClient(
            write_key=key, host=host, sync_mode=sync, gzip=True,
            on_error=on_error, max_retries=0, upload_size=100,
        )

    def rudder(key, sync, on_error):
        return RudderClient(
            write_key=key, host=host, sync_mode=sync, gzip=True,
            on_error=on_error, max_retries=0, upload_size=100,
        )

    exercise("segment", segment, "seg-key", 25)
    exercise("rudder", rudder, "rudder-key", 25)


if __name__ == "__main__":
    main()
