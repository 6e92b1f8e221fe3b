"""The preview's Deployment diff (pure: two API objects in, a unified diff out)."""

from apps.executor.adapters.kubernetes import deployment_diff


def deployment(image="shop/checkout:1.0", replicas=2, **metadata):
    return {
        "metadata": {"name": "checkout", "generation": 1, **metadata},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


def test_a_new_image_shows_as_one_line_out_and_one_in():
    diff = deployment_diff(deployment(), deployment(image="shop/checkout:2.0"), label="d")
    assert "-    - image: shop/checkout:1.0\n" in diff
    assert "+    - image: shop/checkout:2.0\n" in diff
    assert diff.startswith("--- d (current)\n+++ d (dry run)\n")


def test_a_scale_shows_the_replicas():
    diff = deployment_diff(deployment(), deployment(replicas=5), label="d")
    assert "-replicas: 2\n" in diff and "+replicas: 5\n" in diff


def test_metadata_alone_makes_no_diff():
    assert deployment_diff(deployment(), deployment(generation=2), label="d") == ""
