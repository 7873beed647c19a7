"""DNS answers from the registered instances, as Route 53 answers for a private DNS namespace:
A and SRV records of `<service>.<namespace>`, with the Cloud Map service's record TTL."""

import threading

from dnslib import QTYPE, RCODE, RR, A, SRV, DNSLabel
from dnslib.server import BaseResolver, DNSServer


class Records:
    """The answers by name, with the addresses of deregistered tasks taken out at once (as Cloud
    Map takes a deregistered instance's record out), even when a refresh that listed them before
    ends after."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records = {}  # DNS name (lower case, with final dot) -> (ttl, [(ip, port)])
        self.retired = set()

    def replace(self, records):
        with self.lock:
            self.records = self._unretired(records)

    def retire(self, ip):
        with self.lock:
            self.retired.add(ip)
            self.records = self._unretired(self.records)

    def answer(self, qname):
        """(ttl, [(ip, port)]) for a name, or None when no service has it."""
        with self.lock:
            return self.records.get(qname.lower())

    def _unretired(self, records):
        return {name: (ttl, [a for a in addrs if a[0] not in self.retired])
                for name, (ttl, addrs) in records.items()}


class Resolver(BaseResolver):
    def __init__(self, records):
        self.records = records

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname)
        found = self.records.answer(qname)
        if found is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        ttl, addrs = found
        qtype = QTYPE[request.q.qtype]
        for n, (ip, port) in enumerate(addrs):
            if qtype == "A":
                reply.add_answer(RR(qname, QTYPE.A, rdata=A(ip), ttl=ttl))
            elif qtype == "SRV":
                target = DNSLabel(f"task{n}.{qname}")
                reply.add_answer(RR(qname, QTYPE.SRV, rdata=SRV(1, 10, port, target), ttl=ttl))
                reply.add_ar(RR(target, QTYPE.A, rdata=A(ip), ttl=ttl))
        return reply


class _Quiet:
    """dnslib's logger, silenced."""

    def __getattr__(self, name):
        return lambda *a: "" if name == "log_prefix" else None


def serve(records, address):
    """Answers queries on `host:port` (UDP) from a thread of its own."""
    host, port = address.rsplit(":", 1)
    server = DNSServer(Resolver(records), address=host, port=int(port), logger=_Quiet())
    server.start_thread()
    return server
