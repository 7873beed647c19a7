"""Task output to CloudWatch Logs, as the awslogs driver ships it."""

import threading
import time

from facts import log


class LogShipper:
    """Ships task output from one thread, in batches (one PutLogEvents per stream and round), as
    the awslogs driver buffers it. Lines wait in a bounded queue: when the emulator is slow or
    down, the oldest are dropped and counted, and tasks never block."""

    MAX_QUEUED = 10000
    ROUND = 0.2  # seconds between batches

    def __init__(self, client, start=True):
        self.client = client
        self.lock = threading.Lock()
        self.pending = []  # (group, stream, timestamp ms, line)
        self.dropped = 0
        self.streams = set()  # (group, stream) known to exist
        if start:
            threading.Thread(target=self.run, daemon=True).start()

    def put(self, group, stream, line):
        with self.lock:
            if len(self.pending) >= self.MAX_QUEUED:
                self.pending.pop(0)
                self.dropped += 1
            self.pending.append((group, stream, int(time.time() * 1000), line))

    def run(self):
        while True:
            time.sleep(self.ROUND)
            self.ship()

    def ship(self):
        """Sends what is queued: one batch per stream."""
        with self.lock:
            batch, self.pending = self.pending, []
            dropped, self.dropped = self.dropped, 0
        if dropped:
            log(f"dropped {dropped} log lines: CloudWatch Logs did not keep up")
        for (group, stream), events in batches(batch).items():
            try:
                self.ensure_stream(group, stream)
                self.client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
            except Exception as e:  # lines lost must not stop the shipping of others
                log(f"could not ship {len(events)} log lines to {stream}: {e}")

    def ensure_stream(self, group, stream):
        if (group, stream) in self.streams:
            return
        try:
            self.client.create_log_stream(logGroupName=group, logStreamName=stream)
        except self.client.exceptions.ResourceAlreadyExistsException:
            pass
        except self.client.exceptions.ResourceNotFoundException:
            self.client.create_log_group(logGroupName=group)
            self.client.create_log_stream(logGroupName=group, logStreamName=stream)
        self.streams.add((group, stream))


def batches(queued):
    """Queued lines grouped by (group, stream), each group's events in the order queued."""
    by_stream = {}
    for group, stream, at, line in queued:
        by_stream.setdefault((group, stream), []).append({"timestamp": at, "message": line})
    return by_stream
