"""kubernetes: Deployment changes through the official client (kubeconfig or in-cluster).

Actions on the Deployment params.name (default spec.target.name) in params.namespace
(default spec.target.namespace), which must be in settings.EXEC_K8S_NAMESPACES (empty:
none allowed): rollout_restart; set_image {image, container (optional if only one)};
scale {replicas}; rollout_status (waits until the new ReplicaSet is rolled out and
available, or the attempt times out); rollout_undo {to_revision?} (back to the previous
ReplicaSet's template, as `kubectl rollout undo` does).
API 5xx/429 and connection errors are retryable; 4xx are not.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import threading
import time
from datetime import UTC, datetime

import urllib3
import yaml
from django.conf import settings

from aiops.registry import ActionSpec, AdapterSpec
from apps.executor.adapters.base import (
    Adapter,
    Context,
    Outcome,
    Preview,
    StepError,
    StepSpec,
)

REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
FIRST_POLL_S = 0.025


def _params(required=(), **properties) -> dict:
    """A Deployment action's params schema. namespace/name default to spec.target; other keys
    (e.g. the Planner's affected_replicas) are allowed and ignored."""
    schema = {
        "type": "object",
        "properties": {
            "namespace": {"type": "string", "maxLength": 63},
            "kind": {"type": "string"},
            "name": {"type": "string", "maxLength": 253},
            **properties,
        },
    }
    return {**schema, "required": list(required)} if required else schema


# Building a client reads and parses the kubeconfig and opens a new connection pool: a fifth
# of the execution pool's CPU per step in the loop. One is kept per thread for CLIENT_TTL_S
# while the kubeconfig file is unchanged, then built again, so that credentials loaded from
# the file (a token an exec plugin printed, say) are read again before long.
CLIENT_TTL_S = 60.0
_kept = threading.local()


def api_client():
    """A client for the configured cluster (KUBECONFIG, else in-cluster), kept per thread
    (CLIENT_TTL_S). Raises StepError (not retryable) when neither is configured."""
    key = _config_key()
    kept = getattr(_kept, "client", None)
    if kept is not None and kept[0] == key and time.monotonic() < kept[1]:
        return kept[2]
    api = _new_client()
    _kept.client = (key, time.monotonic() + CLIENT_TTL_S, api)
    if kept is not None:
        kept[2].close()
    return api


def _config_key() -> tuple:
    if not settings.KUBECONFIG:
        return ("in-cluster",)
    try:
        found = os.stat(settings.KUBECONFIG)
    except OSError:
        return (settings.KUBECONFIG, None)  # _new_client says what is wrong
    return (settings.KUBECONFIG, found.st_mtime_ns, found.st_size, found.st_ino)


def _new_client():
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if settings.KUBECONFIG:
            return config.new_client_from_config(config_file=settings.KUBECONFIG)
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    except (ConfigException, OSError) as exc:
        raise StepError(
            f"no Kubernetes configuration (set KUBECONFIG or run in-cluster): {exc}",
            retryable=False,
        ) from None


class KubernetesAdapter(Adapter):
    spec = AdapterSpec(
        name="kubernetes",
        description="Deployment changes through the official client",
        actions={
            "rollout_restart": ActionSpec(
                risk=10, description="restart the pods", params_schema=_params()
            ),
            "set_image": ActionSpec(
                risk=25,
                description="set a container's image",
                params_schema=_params(
                    ["image"],
                    image={"type": "string", "minLength": 1},
                    container={"type": "string"},
                ),
            ),
            "scale": ActionSpec(
                risk=5,
                description="set the replica count",
                params_schema=_params(["replicas"], replicas={"type": "integer", "minimum": 0}),
            ),
            "rollout_status": ActionSpec(
                risk=0,
                description="wait until the rollout is complete",
                params_schema=_params(poll_s={"type": "number", "minimum": 0}),
            ),
            "rollout_undo": ActionSpec(
                risk=15,
                description="back to the previous ReplicaSet's template",
                params_schema=_params(to_revision={"type": "integer", "minimum": 0}),
            ),
        },
    )

    def run(self, step: StepSpec, ctx: Context) -> Outcome:
        from kubernetes import client

        self.check_action(step)
        namespace, name = _locate(step)
        api = api_client()
        with _api_errors(ctx):
            call = _Calls(client.AppsV1Api(api), api, namespace, name, ctx)
            result = getattr(self, step.action)(call, step.params, ctx)
        result.update({"namespace": namespace, "name": name, "action": step.action})
        return Outcome(result=result, stdout=(_summary(result) + "\n").encode())

    def preview(self, step: StepSpec, ctx: Context) -> Preview:
        """The action's PATCH sent with dryRun=All: the API server admits and merges it, and
        answers the object it would store without storing it. The detail is a unified diff
        of the Deployment's replicas and pod template, current against that answer."""
        from kubernetes import client

        self.check_action(step)
        namespace, name = _locate(step)
        where = f"Deployment {namespace}/{name}"
        api = api_client()
        with _api_errors(ctx):
            call = _Calls(client.AppsV1Api(api), api, namespace, name, ctx, dry_run=True)
            current = api.sanitize_for_serialization(call.read())
            if step.action == "rollout_status":
                done, message = rollout_complete(call.read())
                return Preview(
                    summary=f"wait until the rollout of {where} is complete",
                    detail={"now": message, "complete": done},
                    target=where,
                )
            getattr(self, step.action)(call, step.params, ctx)
            proposed = api.sanitize_for_serialization(call.patched)
        diff = deployment_diff(current, proposed, label=where)
        return Preview(
            summary=f"{step.action} {where}" + ("" if diff else " (no change)"),
            detail={"dry_run": "All", "patch": call.patch_body, "diff": diff},
            target=where,
        )

    def rollout_restart(self, call, params, ctx):
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        deployment = call.patch(patch)
        return {"restarted_at": now, "generation": deployment.metadata.generation}

    def set_image(self, call, params, ctx):
        container, image = params.get("container"), params.get("image")
        if not isinstance(image, str) or not image:
            raise StepError("set_image needs params image (and container)", retryable=False)
        if container is None:
            # Like `kubectl set image` with one container: no name needed when unambiguous.
            names = [c.name for c in call.read().spec.template.spec.containers]
            if len(names) != 1:
                raise StepError(
                    f"set_image needs params container: the pod has {', '.join(names)}",
                    retryable=False,
                )
            container = names[0]
        if not isinstance(container, str):
            raise StepError("set_image params container must be a string", retryable=False)
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}
        }
        deployment = call.patch(patch)
        return {
            "image": image,
            "container": container,
            "generation": deployment.metadata.generation,
        }

    def scale(self, call, params, ctx):
        replicas = params.get("replicas")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise StepError("scale needs params replicas (an integer ≥ 0)", retryable=False)
        deployment = call.patch({"spec": {"replicas": replicas}})
        return {"replicas": deployment.spec.replicas}

    def rollout_status(self, call, params, ctx):
        # Look again soon, then less often: a quick rollout is seen at once (the unattended
        # loop waits on it), a slow one costs the API server one read per poll_s.
        poll_s = max(FIRST_POLL_S, float(params.get("poll_s", 1)))
        wait, polls = FIRST_POLL_S, 0
        while True:
            ctx.check()
            deployment = call.read()
            polls += 1
            done, message = rollout_complete(deployment)
            if done:
                return {"message": message, "polls": polls, "revision": _revision(deployment)}
            ctx.wait(wait)
            wait = min(poll_s, wait * 2)

    def rollout_undo(self, call, params, ctx):
        deployment = call.read()
        current = _revision(deployment)
        selector = ",".join(
            f"{k}={v}" for k, v in (deployment.spec.selector.match_labels or {}).items()
        )
        owned = [
            rs
            for rs in call.replica_sets(selector)
            if any(ref.uid == deployment.metadata.uid for ref in rs.metadata.owner_references or [])
        ]
        wanted = params.get("to_revision")
        candidates = sorted(
            (
                r
                for r in owned
                if _revision(r) != current and (not wanted or _revision(r) == wanted)
            ),
            key=_revision,
        )
        candidates = [r for r in candidates if wanted or _revision(r) < current]
        if not candidates:
            raise StepError(
                f"no earlier revision to roll back to (current {current})", retryable=False
            )
        target = candidates[-1]
        template = call.api.sanitize_for_serialization(target.spec.template)
        template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
        call.patch([{"op": "replace", "path": "/spec/template", "value": template}])
        return {"from_revision": current, "to_revision": _revision(target)}


class _Calls:
    """The few API calls the actions make, each bounded by the attempt's remaining time.
    With `dry_run` every PATCH carries dryRun=All, so the server changes nothing; the last
    body and the object it answered are kept for the preview."""

    def __init__(self, apps, api, namespace, name, ctx: Context, *, dry_run: bool = False):
        self.apps, self.api, self.namespace, self.name, self.ctx = apps, api, namespace, name, ctx
        self.dry_run = dry_run
        self.patch_body = None
        self.patched = None

    def _timeout(self) -> float:
        self.ctx.check()
        return max(0.1, self.ctx.remaining())

    def read(self):
        return self.apps.read_namespaced_deployment(
            self.name, self.namespace, _request_timeout=self._timeout()
        )

    def patch(self, body):
        extra = {"dry_run": "All"} if self.dry_run else {}
        self.patch_body = body
        self.patched = self.apps.patch_namespaced_deployment(
            self.name, self.namespace, body, _request_timeout=self._timeout(), **extra
        )
        return self.patched

    def replica_sets(self, selector: str):
        return self.apps.list_namespaced_replica_set(
            self.namespace, label_selector=selector, _request_timeout=self._timeout()
        ).items


def _locate(step: StepSpec) -> tuple[str, str]:
    """The Deployment's namespace and name, refused unless the namespace is allowed."""
    params = step.params
    namespace = params.get("namespace") or step.target.get("namespace") or ""
    name = params.get("name") or step.target.get("name") or ""
    if not isinstance(namespace, str) or not isinstance(name, str) or not name or not namespace:
        raise StepError("kubernetes needs a namespace and a Deployment name", retryable=False)
    if params.get("kind", "Deployment") != "Deployment":
        raise StepError("kubernetes actions apply to a Deployment only", retryable=False)
    if namespace not in settings.EXEC_K8S_NAMESPACES:
        raise StepError(
            f"namespace {namespace!r} is not in the allow-list (AIOPS_EXEC_K8S_NAMESPACES)",
            retryable=False,
        )
    return namespace, name


@contextlib.contextmanager
def _api_errors(ctx: Context):
    """API errors as StepError: 5xx, 429 and connection errors retryable, 4xx not."""
    from kubernetes.client.exceptions import ApiException

    try:
        yield
    except ApiException as exc:
        retryable = exc.status is None or exc.status >= 500 or exc.status == 429
        raise StepError(
            f"Kubernetes API {exc.status} {exc.reason}: {(exc.body or '')[:300]}",
            retryable=retryable,
        ) from None
    except urllib3.exceptions.HTTPError as exc:
        if ctx.remaining() <= 0:
            ctx.check()
        raise StepError(f"Kubernetes API unreachable: {exc}") from None


def deployment_diff(current: dict, proposed: dict, *, label: str) -> str:
    """A unified diff of the parts of a Deployment a step changes (replicas and the pod
    template), as YAML; empty when they are the same."""

    def shown(obj: dict) -> list[str]:
        spec = (obj or {}).get("spec") or {}
        part = {"replicas": spec.get("replicas"), "template": spec.get("template")}
        return yaml.safe_dump(part, sort_keys=True, default_flow_style=False).splitlines(True)

    return "".join(
        difflib.unified_diff(
            shown(current), shown(proposed), f"{label} (current)", f"{label} (dry run)"
        )
    )


def rollout_complete(deployment) -> tuple[bool, str]:
    """kubectl's rollout-status rule for a Deployment."""
    spec, status, meta = deployment.spec, deployment.status, deployment.metadata
    if status is None or (status.observed_generation or 0) < (meta.generation or 0):
        return False, "waiting for the rollout to be observed"
    for condition in status.conditions or []:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            raise StepError(f"rollout exceeded its progress deadline: {condition.message}")
    want = spec.replicas if spec.replicas is not None else 1
    updated = status.updated_replicas or 0
    if updated < want:
        return False, f"{updated} of {want} updated replicas"
    if (status.replicas or 0) > updated:
        return False, f"{(status.replicas or 0) - updated} old replicas pending termination"
    if (status.available_replicas or 0) < updated:
        return False, f"{status.available_replicas or 0} of {updated} updated replicas available"
    return True, f"deployment successfully rolled out ({want} replicas)"


def _revision(obj) -> int:
    value = (obj.metadata.annotations or {}).get(REVISION, "0")
    return int(value) if str(value).isdigit() else 0


def _summary(result: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in result.items())
