from facts import log_stream
from logs import LogShipper, batches


def test_lines_are_batched_per_stream_in_the_order_queued():
    queued = [("g", "a", 1, "one"), ("g", "b", 2, "two"), ("g", "a", 3, "three")]
    assert batches(queued) == {
        ("g", "a"): [{"timestamp": 1, "message": "one"}, {"timestamp": 3, "message": "three"}],
        ("g", "b"): [{"timestamp": 2, "message": "two"}],
    }


def test_a_full_queue_drops_the_oldest_lines_and_counts_them():
    shipper = LogShipper(client=None, start=False)
    shipper.MAX_QUEUED = 3
    for n in range(5):
        shipper.put("g", "s", str(n))
    assert [line for *_, line in shipper.pending] == ["2", "3", "4"]
    assert shipper.dropped == 2


def test_streams_are_named_as_the_awslogs_driver_names_them():
    # faas-ecs reads a function's streams by the prefix `<ecs service>/<function>/`
    # (backend/ecs/logs.rs, its test `streams_are_found_by_service_and_container`).
    assert log_stream("team-a_echo", "echo", "0123abcd") == "team-a_echo/echo/0123abcd"
