"""schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS by scripts/fuzz.py).

Generated path parameters almost never name a stored object, so the handlers behind a found
one would go untested. schemathesis learns some ids from responses (case and run ids: lists,
Location headers), but no response lists plan or step ids. So each generated value is either
kept or swapped for the seeded object's id, AIOPS_FUZZ_IDS being `{"plan_id": "…", …}`.
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
