"""A slow backup stand-in for tests/deliveries/test_queues.py, imported by a worker with -I.

It replaces the scheduled backup's work (in that worker process only) with a marker file and a
sleep, so the test can see the backup running while it waits for a delivery.
"""

import os
import time
from pathlib import Path

from ops import tasks


def _slow_backup(**kwargs) -> None:
    Path(os.environ["SLOW_BACKUP_MARKER"]).write_text("running")
    time.sleep(float(os.environ.get("SLOW_BACKUP_SECONDS", "30")))


tasks.create_backup = _slow_backup
