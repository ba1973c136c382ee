"""A real libzmq (pyzmq) subscriber for tests/publish_pyzmq.rs.

Connects a SUB socket, waits for the first `status` heartbeat (so the subscription is
known to be live), prints READY, then receives until it has `--captions` captions or
`--timeout` seconds pass. Every payload is validated against docs/<kind>-schema.json with
jsonschema (draft 2020-12). Prints one JSON summary line on stdout and exits 0; the Rust
test judges the summary. With --stall it stops reading after READY (a slow subscriber)
until stdin closes.
"""

import argparse
import json
import pathlib
import sys
import time

import jsonschema
import zmq


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--captions", type=int, default=0)
    ap.add_argument("--schema-dir", required=True)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--stall", action="store_true")
    args = ap.parse_args()

    schema_dir = pathlib.Path(args.schema_dir)
    validators = {}
    for kind in ("caption", "status"):
        schema = json.loads((schema_dir / f"{kind}-schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[kind] = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if args.stall:
        sub.setsockopt(zmq.RCVHWM, 10)
        sub.setsockopt(zmq.RCVBUF, 4096)
    sub.connect(args.endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)

    summary = {"captions": [], "status": 0, "errors": [], "ready": False}
    deadline = time.monotonic() + args.timeout

    def receive():
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            return None
        return sub.recv_multipart()

    def check(frames):
        if len(frames) != 2:
            summary["errors"].append(f"{len(frames)} frames")
            return None, None
        topic = frames[0].decode()
        payload = json.loads(frames[1])
        kind = "status" if topic == "status" else "caption"
        for err in validators[kind].iter_errors(payload):
            summary["errors"].append(f"{topic}: {err.json_path}: {err.message}")
        if kind == "caption" and topic != "caption." + payload.get("source", ""):
            summary["errors"].append(f"topic {topic} vs source {payload.get('source')}")
        return kind, payload

    # Phase 1: the subscription is live once a heartbeat arrives.
    while not summary["ready"]:
        frames = receive()
        if frames is None:
            break
        kind, payload = check(frames)
        if kind == "status":
            summary["status"] += 1
            summary["ready"] = True
        elif kind == "caption":
            summary["captions"].append(payload)
    if not summary["ready"]:
        summary["errors"].append("no status heartbeat before the timeout")
        print(json.dumps(summary), flush=True)
        return 0
    print("READY", flush=True)

    if args.stall:
        sys.stdin.read()  # never reads the socket; the test closes stdin when done
        # Then drain what the publisher kept for us (up to its high-water mark), counting
        # sequence numbers only: validating 100 000 payloads here would take minutes.
        seqs = {}
        while poller.poll(2000):
            frames = sub.recv_multipart()
            if frames[0] != b"status":
                seqs.setdefault(frames[0].decode(), []).append(json.loads(frames[1])["seq"])
        summary["drained"] = {topic: len(s) for topic, s in seqs.items()}
        summary["drained_in_order"] = all(s == sorted(s) for s in seqs.values())
    else:
        while len(summary["captions"]) < args.captions:
            frames = receive()
            if frames is None:
                summary["errors"].append("timed out waiting for captions")
                break
            kind, payload = check(frames)
            if kind == "status":
                summary["status"] += 1
            elif kind == "caption":
                summary["captions"].append(payload)
    print(json.dumps(summary), flush=True)
    sub.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
