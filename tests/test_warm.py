"""A web worker is ready before its first request: every view imported, and the start-up
heap frozen out of the garbage collector's walks (aiops.warm)."""

import json
import subprocess
import sys

from tests.support import ROOT, child_env

SCRIPT = """
import gc, json, sys
from aiops import wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "views": "apps.cases.api.views" in sys.modules,
}))
"""


def load_wsgi() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_wsgi_module_imports_the_views_and_freezes_the_start_up_heap():
    loaded = load_wsgi()
    assert loaded["views"]
    # Nearly everything alive at start-up sits in the permanent generation, out of the
    # collections a request may trigger.
    assert loaded["frozen"] > 10 * loaded["tracked"]
