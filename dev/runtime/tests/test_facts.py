import os
import re

from facts import WATCHDOG_PORT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_the_watchdog_port_is_the_providers():
    source = open(os.path.join(REPO, "src/model/shared.rs")).read()
    port = re.search(r"pub const WATCHDOG_PORT: u16 = (\d+);", source)
    assert port, "WATCHDOG_PORT in src/model/shared.rs"
    assert int(port.group(1)) == WATCHDOG_PORT
