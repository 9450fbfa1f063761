"""Sends calls through an official SDK (segment-analytics-python or
rudder-sdk-python) and records every batch the SDK delivered.

Usage: sdk_send.py --sdk segment|rudder --host URL --key KEY \
           --calls FILE --out FILE

FILE of calls: a JSON list of {"method": "track", "kwargs": {...}}.
Each batch the SDK's HTTP layer posted successfully is recorded: the out
file gets one JSON line per message, as the SDK serialised it. Exits
non-zero if the SDK reports any error.
"""

import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdk", required=True, choices=["segment", "rudder"])
    ap.add_argument("--host", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--calls", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    if args.sdk == "segment":
        from segment.analytics import client as client_mod, consumer as consumer_mod
        from segment.analytics.request import DatetimeSerializer
        Client = client_mod.Client
    else:
        from rudderstack.analytics import client as client_mod, consumer as consumer_mod
        from rudderstack.analytics.request import DatetimeSerializer
        Client = client_mod.Client

    sent = []

    def wrap(post):
        def recording_post(*a, **kw):
            batch = json.loads(json.dumps(kw.get("batch", []), cls=DatetimeSerializer))
            res = post(*a, **kw)
            sent.extend(batch)
            return res
        return recording_post

    for mod in (client_mod, consumer_mod):
        if hasattr(mod, "post"):
            mod.post = wrap(mod.post)

    errors = []

    def on_error(e, batch):
        errors.append(repr(e))

    client = Client(
        write_key=args.key, host=args.host, gzip=True, sync_mode=False,
        on_error=on_error, max_retries=0, upload_size=100,
    )
    with open(args.calls) as f:
        calls = json.load(f)
    for c in calls:
        getattr(client, c["method"])(**c["kwargs"])
    client.flush()
    client.join()
    if errors:
        raise SystemExit(f"{args.sdk}: {errors}")
    with open(args.out, "w") as f:
        for m in sent:
            f.write(json.dumps(m) + "\n")
    print(f"{args.sdk} sent {len(sent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
