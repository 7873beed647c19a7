import os
import re

from facts import WATCHDOG_PORT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_the_watchdog_port_is_the_providers():
    source = open(os.path.join(REPO, "src/model/shared.rs")).read()
    port = re.search(r"pub const WATCHDOG_PORT: u16 = (\d+);", source)
    assert port, "WATCHDOG_PORT in src/model/shared.rs"
    assert int(port.group(1)) == WATCHDOG_PORT


def test_what_the_runtime_cannot_emulate_is_named():
    from facts import not_emulated
    assert not_emulated({"family": "f", "containerDefinitions": [{}]}) is None
    assert not_emulated({"family": "f", "runtimePlatform": {"cpuArchitecture": "X86_64",
                                                           "operatingSystemFamily": "LINUX"}}) is None
    note = not_emulated({"family": "openfaas-fn_f",
                         "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
                         "containerDefinitions": [{"resourceRequirements": [{"type": "GPU", "value": "1"}]}]})
    assert "openfaas-fn_f" in note and "ARM64" in note and "GPU" in note
    assert "WINDOWS_SERVER_2022_CORE" in not_emulated(
        {"family": "f", "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}})
