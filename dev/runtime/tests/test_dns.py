from dnslib import RCODE, DNSRecord

from dns_answers import Records, Resolver


def ask(records, name, qtype):
    return Resolver(records).resolve(DNSRecord.question(name, qtype), None)


def test_a_and_srv_answers_come_from_the_registered_instances_with_their_ttl():
    records = Records()
    records.replace({"echo.openfaas.local.": (5, [("10.0.0.2", 8080), ("10.0.0.6", 8080)])})
    a = ask(records, "ECHO.openfaas.local", "A")
    assert sorted(str(rr.rdata) for rr in a.rr) == ["10.0.0.2", "10.0.0.6"]
    assert {rr.ttl for rr in a.rr} == {5}
    srv = ask(records, "echo.openfaas.local", "SRV")
    assert [rr.rdata.port for rr in srv.rr] == [8080, 8080]
    assert sorted(str(rr.rdata) for rr in srv.ar) == ["10.0.0.2", "10.0.0.6"]


def test_an_unknown_name_is_nxdomain_and_a_service_without_tasks_answers_nothing():
    records = Records()
    records.replace({"idle.openfaas.local.": (5, [])})
    assert ask(records, "nope.openfaas.local", "A").header.rcode == RCODE.NXDOMAIN
    empty = ask(records, "idle.openfaas.local", "A")
    assert empty.header.rcode == RCODE.NOERROR and not empty.rr


def test_a_retired_address_leaves_at_once_and_a_later_refresh_cannot_bring_it_back():
    records = Records()
    listed = {"echo.openfaas.local.": (5, [("10.0.0.2", 8080), ("10.0.0.6", 8080)])}
    records.replace(listed)
    records.retire("10.0.0.2")
    assert records.answer("echo.openfaas.local.") == (5, [("10.0.0.6", 8080)])
    records.replace(listed)
    assert records.answer("echo.openfaas.local.") == (5, [("10.0.0.6", 8080)])
