from network import NamespaceNetwork, loopback_address, namespace_addresses


def test_loopback_addresses_are_distinct_and_skip_network_and_broadcast_ends():
    addrs = [loopback_address(n) for n in range(1, 2000)]
    assert len(set(addrs)) == len(addrs)
    assert addrs[0] == "127.1.0.2"
    for a in addrs:
        last = int(a.rsplit(".", 1)[1])
        assert 1 <= last <= 250, a


def test_each_namespace_task_has_a_slash_30_of_its_own():
    seen = set()
    for n in range(1, NamespaceNetwork.MAX_TASKS + 1):
        host, task = namespace_addresses("10.201", n)
        h, t = int(host.rsplit(".", 1)[1]), int(task.rsplit(".", 1)[1])
        # The two usable addresses of the /30 starting at a multiple of four.
        assert h % 4 == 1 and t == h + 1, (n, host, task)
        assert host.rsplit(".", 1)[0] == task.rsplit(".", 1)[0]
        seen.update((host, task))
    assert len(seen) == 2 * NamespaceNetwork.MAX_TASKS
    assert all(a.startswith("10.201.") and int(a.split(".")[2]) < 256 for a in seen)


def test_interface_names_fit_the_kernels_limit():
    ns, host_if, task_if = NamespaceNetwork.names("0123456789abcdef0123456789abcdef")
    assert len(host_if) <= 15 and len(task_if) <= 15
    assert host_if != task_if
    assert ns.startswith("fe-")
