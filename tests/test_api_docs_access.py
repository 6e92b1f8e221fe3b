"""The OpenAPI schema and its docs page need a signed-in user unless AIOPS_PUBLIC_API_DOCS
opens them (per role: the route table of docs/security.md, tests/test_auth_matrix.py)."""

import json
import subprocess
import sys

from tests.support import ROOT, child_env

SCRIPT = """
import json
from aiops import settings
print(json.dumps(settings.SPECTACULAR_SETTINGS.get("SERVE_PERMISSIONS")))
"""


def serve_permissions(**env: str):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_docs_need_a_user_by_default_and_the_setting_opens_them():
    assert serve_permissions(AIOPS_PUBLIC_API_DOCS="") == [
        "rest_framework.permissions.IsAuthenticated"
    ]
    assert serve_permissions(AIOPS_PUBLIC_API_DOCS="true") is None  # drf-spectacular's AllowAny
