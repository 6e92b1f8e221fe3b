"""echo: returns its params. For demos and tests it can be told to sleep or to fail.

params: message (any), sleep_s (seconds; with sleep_attempts only on the first N attempts),
fail (bool: every attempt fails), fail_attempts (N: the first N attempts fail).
"""

from aiops.registry import ActionSpec, AdapterSpec
from apps.executor.adapters.base import Adapter, Context, Outcome, StepError, StepSpec

_COUNT = {"type": "integer", "minimum": 0}


class EchoAdapter(Adapter):
    spec = AdapterSpec(
        name="echo",
        description="returns its params; for demos and tests",
        actions={
            "echo": ActionSpec(
                risk=0,
                description="echo the params; optionally sleep or fail first",
                params_schema={
                    "type": "object",
                    "properties": {
                        "message": {},
                        "sleep_s": {"type": "number", "minimum": 0},
                        "sleep_attempts": _COUNT,
                        "fail": {"type": "boolean"},
                        "fail_attempts": _COUNT,
                        "error": {"type": "string"},
                    },
                },
            )
        },
    )

    def run(self, step: StepSpec, ctx: Context) -> Outcome:
        self.check_action(step)
        params = step.params
        sleep_s = _number(params, "sleep_s", 0)
        sleep_attempts = params.get("sleep_attempts")
        if sleep_s and (sleep_attempts is None or step.attempt <= int(sleep_attempts)):
            ctx.wait(sleep_s)
        ctx.check()
        if params.get("fail") or step.attempt <= int(_number(params, "fail_attempts", 0)):
            raise StepError(str(params.get("error", f"echo told to fail (attempt {step.attempt})")))
        text = f"{params.get('message', '')}\n".encode()
        return Outcome(result={"echo": params, "attempt": step.attempt}, stdout=text)


def _number(params: dict, key: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StepError(f"echo param '{key}' must be a number", retryable=False)
    return float(value)
