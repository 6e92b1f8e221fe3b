"""A local HTTP server speaking enough of the Kubernetes REST API for apps/v1 Deployments.

GET/PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name} (strategic-merge, merge and JSON
patches, as the official client sends them; with ?dryRun=All the merged object is answered
and nothing is stored), GET …/replicasets?labelSelector=… and
GET /api/v1/namespaces/{ns}/secrets/{name} (`add_secret`). A
template change creates (or re-activates) a ReplicaSet with the next revision, and the
Deployment's status then progresses one stage per GET, as a controller would: observed,
replicas updated one by one, available. An image containing "broken" never becomes
available. `fail_next()` makes the next requests answer an error status.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.fakes import read_body, reply_json

REVISION = "deployment.kubernetes.io/revision"
DEPLOYMENT = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)$")
REPLICASETS = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/replicasets$")
SECRET = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets/([^/]+)$")


class FakeKubeAPI:
    def __init__(self):
        self.lock = threading.Lock()
        self.deployments: dict[tuple[str, str], dict] = {}
        self.replica_sets: dict[tuple[str, str], dict] = {}
        self.secrets: dict[tuple[str, str], dict] = {}
        self.stage: dict[tuple[str, str], int] = {}  # rollout progress per deployment
        self.requests: list[dict] = []
        self.failures: list[tuple[str, int]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeKubeAPI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def write_kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "fake", "user": {"token": "fake-token"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                    "current-context": "fake",
                }
            )
        )
        return path

    def fail_next(self, method: str, count: int = 1, status: int = 503) -> None:
        with self.lock:
            self.failures.extend([(method, status)] * count)

    # --- state ---

    def add_deployment(self, namespace: str, name: str, image: str, replicas: int = 2) -> dict:
        labels = {"app": name}
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "generation": 1,
                "resourceVersion": "1",
                "labels": dict(labels),
                "annotations": {},
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(labels)},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {"containers": [{"name": "app", "image": image}]},
                },
            },
            "status": {},
        }
        with self.lock:
            self.deployments[(namespace, name)] = deployment
            self._roll(deployment)
            self.stage[(namespace, name)] = 10**6  # the first rollout is long done
            self._refresh_status(deployment)
        return deployment

    def add_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        """An Opaque Secret; `data` in clear, served base64-encoded as the API does."""
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        self.secrets[(namespace, name)] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "data": encoded,
        }

    def deployment(self, namespace: str, name: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.deployments[(namespace, name)])

    def image(self, namespace: str, name: str) -> str:
        return self.deployment(namespace, name)["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]

    def _roll(self, deployment: dict) -> None:
        """The template changed: the matching ReplicaSet becomes the newest revision."""
        meta = deployment["metadata"]
        template = copy.deepcopy(deployment["spec"]["template"])
        template["metadata"].get("labels", {}).pop("pod-template-hash", None)
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        revisions = [
            int(rs["metadata"]["annotations"][REVISION])
            for (ns, _), rs in self.replica_sets.items()
            if ns == meta["namespace"]
            and rs["metadata"]["ownerReferences"][0]["uid"] == meta["uid"]
        ]
        revision = str(max(revisions, default=0) + 1)
        rs_name = f"{meta['name']}-{digest}"
        template["metadata"].setdefault("labels", {})["pod-template-hash"] = digest
        self.replica_sets[(meta["namespace"], rs_name)] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": meta["namespace"],
                "uid": str(uuid.uuid4()),
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {REVISION: revision},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "replicas": deployment["spec"]["replicas"],
                "selector": {"matchLabels": dict(template["metadata"]["labels"])},
                "template": template,
            },
        }
        meta["annotations"][REVISION] = revision
        self.stage[(meta["namespace"], meta["name"])] = 0

    def _refresh_status(self, deployment: dict) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        key = (meta["namespace"], meta["name"])
        stage = self.stage[key]
        want = spec["replicas"]
        image = spec["template"]["spec"]["containers"][0].get("image", "")
        broken = "broken" in image
        if stage == 0:
            status = dict(deployment["status"])  # not yet observed
        else:
            updated = min(want, stage) if not broken else min(want, 1)
            done = stage > want and not broken
            status = {
                "observedGeneration": meta["generation"],
                "replicas": want if done else want + (1 if want else 0),
                "updatedReplicas": updated,
                "readyReplicas": want if done else max(0, updated - 1),
                "availableReplicas": want if done else (0 if broken else max(0, updated - 1)),
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True" if done else "False",
                        "reason": "MinimumReplicasAvailable",
                    },
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                    },
                ],
            }
        deployment["status"] = status

    # --- requests ---

    def handle(self, method: str, path: str, query: dict, content_type: str, body: bytes):
        with self.lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "content_type": content_type,
                    "body": body,
                }
            )
            for index, (fail_method, status) in enumerate(self.failures):
                if fail_method == method:
                    del self.failures[index]
                    return status, _status_body(status, "injected failure", "InternalError")
            match = DEPLOYMENT.match(path)
            if match:
                key = (match[1], match[2])
                deployment = self.deployments.get(key)
                if deployment is None:
                    return 404, _status_body(404, f'deployments.apps "{key[1]}" not found')
                if method == "GET":
                    self.stage[key] += 1  # the controller makes progress between looks
                    self._refresh_status(deployment)
                    return 200, deployment
                if method == "PATCH":
                    patch = json.loads(body or b"null")
                    if query.get("dryRun") == ["All"]:
                        return self._patch(copy.deepcopy(deployment), content_type, patch, dry=True)
                    return self._patch(deployment, content_type, patch)
                return 405, _status_body(405, "method not allowed", "MethodNotAllowed")
            match = SECRET.match(path)
            if match and method == "GET":
                secret = self.secrets.get((match[1], match[2]))
                if secret is None:
                    return 404, _status_body(404, f'secrets "{match[2]}" not found')
                return 200, secret
            match = REPLICASETS.match(path)
            if match and method == "GET":
                selector = dict(
                    part.split("=", 1)
                    for part in query.get("labelSelector", [""])[0].split(",")
                    if part
                )
                items = [
                    rs
                    for (ns, _), rs in self.replica_sets.items()
                    if ns == match[1]
                    and all(rs["metadata"]["labels"].get(k) == v for k, v in selector.items())
                ]
                return 200, {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSetList",
                    "metadata": {"resourceVersion": "1"},
                    "items": items,
                }
            return 404, _status_body(404, f"no route {method} {path}")

    def _patch(self, deployment: dict, content_type: str, patch, dry=False) -> tuple[int, dict]:
        """Apply `patch` to `deployment` in place. `dry` (dryRun=All; the caller passes a
        copy): answer the merged object as the server would store it, touching no state."""
        before = json.dumps(deployment["spec"], sort_keys=True)
        template_before = json.dumps(deployment["spec"]["template"], sort_keys=True)
        kind = content_type.split(";")[0].strip()
        if kind == "application/strategic-merge-patch+json":
            merged = _strategic_merge(deployment, patch)
        elif kind == "application/merge-patch+json":
            merged = _merge(deployment, patch)
        elif kind == "application/json-patch+json":
            merged = _json_patch(deployment, patch)
        else:
            return 415, _status_body(415, f"unsupported patch type {kind}", "UnsupportedMediaType")
        deployment.clear()
        deployment.update(merged)
        meta = deployment["metadata"]
        if json.dumps(deployment["spec"], sort_keys=True) != before:
            meta["generation"] += 1
            meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)
            key = (meta["namespace"], meta["name"])
            if dry:
                return 200, deployment
            if json.dumps(deployment["spec"]["template"], sort_keys=True) != template_before:
                self._roll(deployment)
            else:
                self.stage[key] = 0
        return 200, deployment


def _status_body(code: int, message: str, reason: str = "NotFound") -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _merge(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _strategic_merge(target, patch):
    """Strategic merge as the API server applies it to Deployments: lists of named objects
    (containers, env, ports) merge by `name`; other lists are replaced."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        current = result.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(current, list) and _named(value + current):
            merged = {item["name"]: copy.deepcopy(item) for item in current}
            order = [item["name"] for item in current]
            for item in value:
                if item["name"] in merged:
                    merged[item["name"]] = _strategic_merge(merged[item["name"]], item)
                else:
                    merged[item["name"]] = copy.deepcopy(item)
                    order.append(item["name"])
            result[key] = [merged[name] for name in order]
        else:
            result[key] = _strategic_merge(current, value)
    return result


def _named(items) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def _json_patch(target, operations):
    result = copy.deepcopy(target)
    for op in operations:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op["op"] in ("replace", "add"):
            if isinstance(parent, list):
                parent.insert(int(last), copy.deepcopy(op["value"]))
            else:
                parent[last] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
    return result


def _handler(fake: FakeKubeAPI):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            parts = urlsplit(self.path)
            status, payload = fake.handle(
                self.command,
                parts.path,
                parse_qs(parts.query),
                self.headers.get("Content-Type", ""),
                read_body(self),
            )
            reply_json(self, status, payload)

        do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format, *args):
            pass

    return Handler
