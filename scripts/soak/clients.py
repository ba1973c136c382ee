"""The soak's subscribers, against one daemon, until `duration_s` has passed.

- a counter that reads every caption and reports captions per source and sequence gaps;
- a stalled subscriber that connects, subscribes to everything and never reads;
- churn: `churn` threads, each connecting a SUB socket, subscribing, maybe reading one
  message, and closing, over and over (ZeroMQ subscriber churn as seen in the field).
Prints one JSON object at the end.
"""
import json
import sys
import threading
import time

import zmq

endpoint, duration_s, churn = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
ctx = zmq.Context()
deadline = time.monotonic() + duration_s
counts, gaps, last = {}, 0, {}
churned = 0
lock = threading.Lock()


def churner():
    global churned
    while time.monotonic() < deadline:
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        if s.poll(100):
            s.recv_multipart()
        s.close()
        with lock:
            churned += 1
        time.sleep(0.2)


stalled = ctx.socket(zmq.SUB)
stalled.setsockopt(zmq.RCVHWM, 10)
stalled.connect(endpoint)
stalled.setsockopt(zmq.SUBSCRIBE, b"")
threads = [threading.Thread(target=churner, daemon=True) for _ in range(churn)]
for t in threads:
    t.start()
sub = ctx.socket(zmq.SUB)
sub.connect(endpoint)
sub.setsockopt(zmq.SUBSCRIBE, b"caption.")
while time.monotonic() < deadline + 30:
    if not sub.poll(1000):
        continue
    topic, payload = sub.recv_multipart()
    msg = json.loads(payload)
    src, seq = msg["source"], msg["seq"]
    counts[src] = counts.get(src, 0) + 1
    if src in last and seq != last[src] + 1:
        gaps += 1
    last[src] = seq
for t in threads:
    t.join(timeout=5)
print(json.dumps({"captions": counts, "gaps": gaps, "churn_connections": churned}))
