"""Secret references: resolve, redact and the env/file/kubernetes sources, without a database."""

import pytest

from apps.executor import secretrefs
from apps.executor.secretrefs import SecretUnavailable


def ref(**fields):
    return {"secretRef": fields}


def test_resolve_replaces_references_at_any_depth_and_reports_the_values():
    table = {"a": "tok-A", "b": "tok-B"}
    params = {
        "url": "http://gw/x",
        "headers": {"Authorization": ref(source="env", name="a")},
        "json": {"auth": [ref(source="file", name="b"), 3], "keep": "plain"},
    }
    resolved, values = secretrefs.resolve(params, lambda r: table[r["name"]])
    assert resolved == {
        "url": "http://gw/x",
        "headers": {"Authorization": "tok-A"},
        "json": {"auth": ["tok-B", 3], "keep": "plain"},
    }
    assert values == {"tok-A", "tok-B"}
    assert params["headers"]["Authorization"] == ref(source="env", name="a")  # not modified


def test_an_object_with_a_secret_ref_and_more_is_refused():
    with pytest.raises(SecretUnavailable, match="malformed"):
        secretrefs.resolve({"h": {"secretRef": {"source": "env"}, "x": 1}}, lambda r: "v")


def test_empty_values_are_not_redacted():
    _, values = secretrefs.resolve({"a": ref(source="env", name="x")}, lambda r: "")
    assert values == frozenset()


def test_redaction_replaces_every_occurrence_longest_first():
    values = frozenset({"abc", "abcdef"})
    assert secretrefs.redact_text("x abcdef abc", values) == "x [redacted] [redacted]"
    assert secretrefs.redact_bytes(b"abcdef\nabc", values) == b"[redacted]\n[redacted]"
    assert secretrefs.redact({"abc": ["abc", 1, {"k": "zabcz"}]}, values) == {
        "[redacted]": ["[redacted]", 1, {"k": "z[redacted]z"}]
    }


def test_env_reads_only_the_aiops_secret_prefix():
    environ = {"AIOPS_SECRET_GATEWAY_TOKEN": "s3cr3t", "DJANGO_SECRET_KEY": "k"}
    assert secretrefs.from_env({"source": "env", "name": "GATEWAY_TOKEN"}, environ) == "s3cr3t"
    with pytest.raises(SecretUnavailable, match="refused name"):
        secretrefs.from_env({"source": "env", "name": "../DJANGO_SECRET_KEY"}, environ)


def test_an_unset_env_secret_names_the_reference_and_is_not_retryable():
    with pytest.raises(SecretUnavailable) as caught:
        secretrefs.from_env({"source": "env", "name": "NOPE"}, {})
    assert str(caught.value) == ("secretRef env:NOPE: AIOPS_SECRET_NOPE is not set in the worker")
    assert caught.value.retryable is False


def test_file_reads_a_plain_name_in_the_directory(tmp_path):
    (tmp_path / "gateway-token").write_text("tok\n")
    (tmp_path.parent / "outside").write_text("no")
    assert secretrefs.from_file({"name": "gateway-token"}, tmp_path) == "tok"
    for name in ("../outside", "a/b", "..", ".hidden"):
        with pytest.raises(SecretUnavailable, match="refused name"):
            secretrefs.from_file({"name": name}, tmp_path)
    with pytest.raises(SecretUnavailable, match="no such file"):
        secretrefs.from_file({"name": "missing"}, tmp_path)
    with pytest.raises(SecretUnavailable, match="AIOPS_SECRETS_DIR is not set"):
        secretrefs.from_file({"name": "gateway-token"}, "")


def test_a_symlink_out_of_the_directory_is_refused(tmp_path):
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    (tmp_path / "elsewhere").write_text("no")
    (secret_dir / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SecretUnavailable, match="no such file"):
        secretrefs.from_file({"name": "link"}, secret_dir)


@pytest.fixture
def kube(tmp_path, settings):
    from tests.fakes.kube_api import FakeKubeAPI

    fake = FakeKubeAPI().start()
    settings.KUBECONFIG = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    settings.EXEC_K8S_NAMESPACES = ["shop"]
    yield fake
    fake.stop()


def test_kubernetes_reads_and_decodes_a_secret_key(kube):
    kube.add_secret("shop", "gateway", {"token": "k8s-s3cr3t"})
    lookup = {"source": "kubernetes", "namespace": "shop", "name": "gateway", "key": "token"}
    assert secretrefs.lookup(lookup) == "k8s-s3cr3t"
    with pytest.raises(SecretUnavailable, match=r"kubernetes:shop/gateway\[other\]: .*no such key"):
        secretrefs.lookup({**lookup, "key": "other"})
    with pytest.raises(SecretUnavailable, match="404") as caught:
        secretrefs.lookup({**lookup, "name": "absent"})
    assert caught.value.retryable is False


def test_kubernetes_reads_only_allowed_namespaces(kube):
    kube.add_secret("kube-system", "admin", {"token": "x"})
    with pytest.raises(SecretUnavailable, match="not in the allow-list"):
        secretrefs.lookup(
            {"source": "kubernetes", "namespace": "kube-system", "name": "admin", "key": "token"}
        )
    assert kube.requests == []
