"""The embedded services: shared by every process of a data dir, kept across restarts."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

from aiops import embedded
from tests.support import ROOT, child_env

pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_another_process_of_the_checkout_reaches_the_same_database(new_case):
    case = new_case(title="seen from a shell")
    script = (
        f"from apps.cases.models import OpsCase; print(OpsCase.objects.get(pk='{case.pk}').title)"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity=0", "-c", script],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "seen from a shell"


@pytest.fixture
def data_dir():
    # Not pytest's tmp_path: its 0700 parents keep out the unprivileged postgres user.
    path = Path(tempfile.mkdtemp(dir=settings.DATA_DIR, prefix="embedded-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_stopped_services_start_again_with_their_data(data_dir):
    tmp_path = data_dir
    database = embedded.ensure_postgres(tmp_path)
    broker = embedded.ensure_redis(tmp_path)
    socket_path = broker.removeprefix("redis+socket://")
    dsn = {"dbname": database["NAME"], "user": database["USER"], "host": database["HOST"]}
    try:
        with psycopg.connect(**dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        redis.Redis(unix_socket_path=socket_path).set("kept", "too")

        embedded.stop_all(tmp_path)
        assert not (tmp_path / "pg" / "postmaster.pid").exists()
        with pytest.raises(redis.ConnectionError):
            redis.Redis(unix_socket_path=socket_path).ping()

        database = embedded.ensure_postgres(tmp_path)
        embedded.ensure_redis(tmp_path)
        with psycopg.connect(**dsn, autocommit=True) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)
        assert redis.Redis(unix_socket_path=socket_path).get("kept") == b"too"
    finally:
        embedded.stop_all(tmp_path)
