"""The script adapter in-process (no database): name allow-list, inert args, group kill."""

import time
from pathlib import Path

import pytest

from apps.executor.adapters.base import Context, StepError, StepSpec, StepTimeout
from apps.executor.adapters.script import ScriptAdapter, resolve_script


def spec(name, args=None, timeout_s=10):
    return StepSpec(
        step_id="s",
        adapter="script",
        action="run",
        params={"name": name, "args": args or []},
        timeout_s=timeout_s,
        attempt=1,
        message_id="m-1",
        case_id="c-1",
        run_id="r-1",
    )


def run(name, args=None, timeout_s=10):
    return ScriptAdapter().run(spec(name, args, timeout_s), Context(timeout_s))


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "..",
        "/bin/sh",
        "/usr/bin/id",
        "sub/echo-args",
        "echo-args; rm -rf /",
        "echo-args && id",
        "$(id)",
        "`id`",
        "echo-args|id",
        ".hidden",
        "",
        "echo-args\n",
    ],
)
def test_names_with_paths_traversal_or_shell_characters_are_refused(name):
    with pytest.raises(StepError) as refused:
        resolve_script(name)
    assert refused.value.retryable is False


def test_a_name_not_in_the_script_directory_is_refused():
    with pytest.raises(StepError, match="is not in"):
        resolve_script("no-such-script")


def test_a_non_string_name_is_refused():
    with pytest.raises(StepError, match="non-empty string"):
        resolve_script(["echo-args"])


def test_shell_metacharacters_in_args_reach_the_script_verbatim(tmp_path):
    marker = tmp_path / "pwned"
    args = [f"; touch {marker}", f"$(touch {marker})", "`id`", "a b", "*", "|id", "&&"]
    outcome = run("echo-args", args)
    assert outcome.stdout.decode().splitlines() == args
    assert not marker.exists()


def test_args_must_be_a_list_of_strings_or_numbers():
    with pytest.raises(StepError, match="must be a list"):
        run("echo-args", "rm -rf /")
    with pytest.raises(StepError, match="strings or numbers"):
        run("echo-args", [{"x": 1}])


def test_the_script_sees_a_sanitized_environment(monkeypatch, settings):
    # The shipped stand-in (ops-scripts/), not a test helper.
    settings.AIOPS_SCRIPT_DIR = Path(settings.BASE_DIR) / "ops-scripts"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    outcome = ScriptAdapter().run(
        StepSpec(
            step_id="s",
            adapter="script",
            action="run",
            params={"name": "restart-service", "args": ["checkout"]},
            timeout_s=10,
            attempt=3,
            message_id="m",
            case_id="case-9",
            run_id="r",
        ),
        Context(10),
    )
    assert outcome.stdout.decode() == "restarting checkout (case case-9, step s, attempt 3)\n"


def test_a_nonzero_exit_fails_with_the_exit_code_and_stderr():
    with pytest.raises(StepError) as failed:
        run("fail", ["7", "no route to host"])
    assert failed.value.exit_code == 7
    assert failed.value.outcome.stderr == b"no route to host\n"


def test_output_beyond_the_cap_is_truncated(settings):
    settings.EXEC_LOG_MAX_BYTES = 20
    outcome = run("echo-args", ["x" * 100])
    assert outcome.stdout.startswith(b"x" * 20)
    assert outcome.stdout.endswith(b"[output truncated]\n")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


def _all_dead(pids, timeout=10.0) -> bool:
    # The killed processes may take a moment to be reaped by their new parent.
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(p) for p in pids)


def test_a_timeout_kills_the_script_and_the_children_it_forked(tmp_path):
    pid_file = tmp_path / "pids"
    with pytest.raises(StepTimeout):
        run("spawn-and-sleep", [str(pid_file), "300"], timeout_s=1)
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2
    assert _all_dead(pids)


def test_a_cancelled_context_kills_the_running_script(tmp_path):
    import threading

    pid_file = tmp_path / "pids"
    ctx = Context(60)
    threading.Timer(0.5, ctx.cancel, args=["case parked"]).start()
    with pytest.raises(StepError, match="case parked"):
        ScriptAdapter().run(spec("spawn-and-sleep", [str(pid_file), "300"], 60), ctx)
    assert _all_dead([int(p) for p in pid_file.read_text().split()])
