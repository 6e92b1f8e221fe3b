"""schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS by scripts/fuzz.py).

Generated path parameters almost never name a stored object, so the handlers behind a found
one would go untested. schemathesis learns some ids from responses (case and run ids: lists,
Location headers), but no response lists plan or step ids. So each generated value is either
kept or swapped for the seeded object's id, AIOPS_FUZZ_IDS being `{"plan_id": "…", …}`.
Failures of answers the app never gave (gunicorn's own) are dropped.
"""

import json
import os

import schemathesis
from hypothesis import strategies as st

SEEDED = json.loads(os.environ.get("AIOPS_FUZZ_IDS", "{}"))


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    # None for an operation without path parameters; a non-string value is a negative test
    # of the parameter's type: both are left as generated.
    known = {
        name: SEEDED[name]
        for name, value in (path_parameters or {}).items()
        if name in SEEDED and isinstance(value, str)
    }
    if not known:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **known}])


@schemathesis.hook
def filter_failure(context, failure, case, response):
    # gunicorn answers a request line over 4094 bytes (414) or oversized headers (431) with
    # its own text/html page before the app sees the request: not the API's answer, so not
    # held to its schema. Every other failure, and every other answer, is kept.
    from_gunicorn = response.status_code in (414, 431) and response.headers.get(
        "content-type", [""]
    )[0].startswith("text/html")
    return not from_gunicorn
