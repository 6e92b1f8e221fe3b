from aiops.problems import Conflict


class ExecNotAllowed(Conflict):
    slug, title = "exec-not-allowed", "The case cannot be executed now"


class RunActive(Conflict):
    slug, title = "exec-run-active", "The case already has an active run"
