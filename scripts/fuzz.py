"""`make fuzz`: schemathesis against the live OpenAPI schema of a real gunicorn (docs/fuzzing.md).

Everything runs under its own data dir (var/fuzz): migrate, seed a case carried to VERIFYING
(a plan, a run, its steps) so the generated requests also meet real objects, start gunicorn,
then `st run --checks all` (settings in scripts/fuzz.toml) once as a superuser and once as an
operator. Ids of real objects come three ways: schemathesis's stateful phase follows the
Location headers of the creates, its fuzzing draws ids seen in earlier responses, and
scripts/fuzz_hooks.py swaps in the seeded ones. Each role's report and output go to
var/fuzz/report-<role>.{json,txt}; the figures are printed and written to docs/fuzzing.md,
and the exit status is 1 on any failure.

`run()` and `seed()` are shared with tests/test_fuzz.py, a small budget inside `make test`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROLES = ("superuser", "operator")
ST = Path(sys.executable).parent / "st"
ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "fuzzing.md"
# Thousands of requests a minute from one user: the per-user throttle would answer 429 to
# most of them and the fuzzer would probe the throttle instead of the API.
UNTHROTTLED = {"AIOPS_THROTTLE_WRITES": "100000/s", "AIOPS_THROTTLE_INGEST": "100000/s"}
BEGIN, END = "<!-- fuzz:result -->", "<!-- /fuzz:result -->"


def run(
    base_url: str,
    token: str,
    *,
    ids: dict,
    max_examples: int,
    report: Path,
    seed: int | None = None,
) -> dict:
    """One `st run` with every check, its output next to `report`; summarize()'s figures."""
    argv = [
        str(ST),
        f"--config-file={ROOT / 'scripts' / 'fuzz.toml'}",
        "run",
        f"{base_url}/api/schema/",
        "--checks=all",
        f"--max-examples={max_examples}",
        f"--header=Authorization: Token {token}",
        # One worker: with two, Python 3.11's parser raced in Hypothesis's lambda descriptions
        # ("AST constructor recursion depth mismatch", an error of the tool, not the API).
        "--workers=1",
        "--request-timeout=30",
        "--suppress-health-check=all",
        "--continue-on-failure",
        "--report=json",
        f"--report-json-path={report}",
        "--output-truncate=false",
        "--warnings=off",
    ]
    if seed is not None:
        argv.append(f"--seed={seed}")
    report.unlink(missing_ok=True)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "scripts.fuzz_hooks",
        "AIOPS_FUZZ_IDS": json.dumps(ids),
        # Hypothesis caches (unicode tables, constants) beside the report, not in the tree.
        "HYPOTHESIS_STORAGE_DIRECTORY": str(report.parent / "hypothesis"),
    }
    completed = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
    report.with_suffix(".txt").write_text(completed.stdout + completed.stderr)
    if not report.exists():
        raise RuntimeError(f"schemathesis did not run:\n{completed.stdout}\n{completed.stderr}")
    return summarize(json.loads(report.read_text()))


def summarize(report: dict) -> dict:
    """Test cases generated, the seed (`st run --seed` replays the run), and failures per
    check (`ST103 Undocumented status code`) with the operations they were found on."""
    return {
        "generated": report["test_cases"]["generated"],
        "seed": report["seed"],
        "failures": {
            f"{failure['code']} {failure['title']}": (failure["count"], failure["operations"])
            for failure in report["failures"]
        },
        "errors": report["errors"],
    }


def main() -> int:
    import django

    from aiops import bootstrap

    bootstrap.prepare()  # the data dir and embedded servers, before Django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tests import support

    call_command("migrate", verbosity=0)
    tokens, ids = seed()
    examples = int(os.environ.get("AIOPS_FUZZ_EXAMPLES", "250"))
    port = support.free_port()
    server = support.gunicorn(port, workers=2, **UNTHROTTLED).start()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    try:
        support.wait_for(lambda: _up(base), what="gunicorn to answer")
        results = {
            role: run(
                base,
                tokens[role],
                ids=ids,
                max_examples=examples,
                report=Path(settings.DATA_DIR) / f"report-{role}.json",
            )
            for role in ROLES
        }
    finally:
        server.stop()
    text = result_markdown(results, examples, time.perf_counter() - started)
    print(text)
    write_result(text)
    failed = any(summary["failures"] or summary["errors"] for summary in results.values())
    return 1 if failed else 0


def _up(base: str) -> bool:
    import requests

    try:
        return requests.get(f"{base}/healthz", timeout=5).ok
    except requests.RequestException:
        return False


def result_markdown(results: dict, examples: int, seconds: float) -> str:
    total = sum(summary["generated"] for summary in results.values())
    lines = [
        f"{total:,} test cases (requests) over {seconds:.0f} s, `--max-examples={examples}`:",
        "",
        "| role | test cases | failures | seed |",
        "|---|---|---|---|",
    ]
    for role, summary in results.items():
        found = "; ".join(
            f"{count} {kind} ({', '.join(operations)})"
            for kind, (count, operations) in summary["failures"].items()
        )
        errors = "; ".join(f"{e['count']} {e['title']}" for e in summary["errors"])
        lines.append(
            f"| {role} | {summary['generated']:,} | {found or errors or 'none'} "
            f"| {summary['seed']} |"
        )
    return "\n".join(lines)


def write_result(text: str) -> None:
    """Replace the last result between its markers in docs/fuzzing.md, dated."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"{BEGIN}\n_Run {stamp}._ {text}\n{END}"
    doc = DOC.read_text()
    start, end = doc.index(BEGIN), doc.index(END) + len(END)
    DOC.write_text(doc[:start] + block + doc[end:])


def seed() -> tuple[dict, dict]:
    """Users of both roles with tokens, one case carried to VERIFYING; (tokens, ids)."""
    from django.contrib.auth.models import Group, User

    from aiops import tokens
    from tests import factories
    from tests.conftest import sample_plan

    admin, _ = User.objects.get_or_create(username="fuzz-admin", defaults={"is_superuser": True})
    operator, _ = User.objects.get_or_create(username="fuzz-operator")
    operator.groups.add(Group.objects.get_or_create(name="operator")[0])
    factories.set_autopilot("staging", "manual")
    case = factories.new_case(admin, service="fuzz", environment="staging")
    case = factories.drive_to_verifying(case, admin, sample_plan())
    run_ = case.exec_runs.get()
    tokens = {
        "superuser": tokens.issue(admin),
        "operator": tokens.issue(operator),
    }
    ids = {
        "case_id": str(case.pk),
        "plan_id": str(case.plans.latest("revision").pk),
        "run_id": str(run_.pk),
        "step_id": str(run_.steps.order_by("id").first().pk),
    }
    return tokens, ids


if __name__ == "__main__":
    sys.exit(main())
