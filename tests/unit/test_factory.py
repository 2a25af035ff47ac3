"""The image factory's pure parts: step order, cache keys, the step list, Kubernetes ldflags."""

from __future__ import annotations

from pathlib import Path

import pytest

from svclab.core.assets import repo_root
from svclab.core.catalog import PIN_TABLE, PINS, lab_images
from svclab.images.factory import BuildError, Ctx, Step, hash_inputs, order, step_key
from svclab.images.steps import all_steps, k8s_ldflags


def nothing(ctx: Ctx) -> None:
    """A step action for tests: never run here."""


def step(name: str, *deps: str, inputs: tuple[str, ...] = (), params: tuple[str, ...] = ()) -> Step:
    return Step(name, nothing, inputs=inputs, params=params, deps=deps)


# a diamond: app needs lib and tool, both need base; extra stands alone
DIAMOND = [step("app", "lib", "tool"), step("lib", "base"), step("tool", "base"), step("base"), step("extra")]


def names(steps: list[Step]) -> list[str]:
    return [s.name for s in steps]


# ---------------------------------------------------------------- order


def test_order_puts_dependencies_first_and_each_step_once() -> None:
    assert names(order(DIAMOND, ["app"])) == ["base", "lib", "tool", "app"]


def test_order_of_nothing_wanted_is_every_step() -> None:
    found = names(order(DIAMOND, None))

    assert sorted(found) == sorted(names(DIAMOND))
    assert found.index("base") < found.index("lib") < found.index("app")


def test_order_keeps_only_what_is_wanted() -> None:
    assert names(order(DIAMOND, ["extra", "lib"])) == ["extra", "base", "lib"]


def test_unknown_step_names_are_a_build_error_naming_them() -> None:
    with pytest.raises(BuildError) as caught:
        order(DIAMOND, ["app", "nope", "nada"])
    message = str(caught.value)

    assert "unknown image step(s) nope, nada" in message
    assert "known: app, lib, tool, base, extra" in message


# ---------------------------------------------------------------- keys


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.go").write_text("package main\n")
    (tmp_path / "src" / "go.mod").write_text("module x\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


def test_hash_inputs_covers_files_and_whole_folders(root: Path) -> None:
    before = hash_inputs(root, ["src", "Dockerfile"])

    assert hash_inputs(root, ["src", "Dockerfile"]) == before
    assert hash_inputs(root, ["src"]) != before
    (root / "src" / "extra.go").write_text("package main\n")
    assert hash_inputs(root, ["src", "Dockerfile"]) != before


def test_hash_inputs_sees_a_rename(root: Path) -> None:
    before = hash_inputs(root, ["src"])
    (root / "src" / "go.mod").rename(root / "src" / "go.mod2")

    assert hash_inputs(root, ["src"]) != before


def test_hash_inputs_is_the_same_for_the_same_tree_anywhere(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("copy")
    (other / "src").mkdir()
    for rel in ("src/main.go", "src/go.mod", "Dockerfile"):
        (other / rel).write_bytes((root / rel).read_bytes())

    assert hash_inputs(other, ["src", "Dockerfile"]) == hash_inputs(root, ["src", "Dockerfile"])


def test_step_key_is_stable_and_short(root: Path) -> None:
    s = step("go-x", inputs=("src",), params=("v1",))

    assert step_key(s, root, []) == step_key(s, root, [])
    assert len(step_key(s, root, [])) == 16


def test_step_key_changes_when_an_input_file_changes(root: Path) -> None:
    s = step("go-x", inputs=("src",))
    before = step_key(s, root, [])
    (root / "src" / "main.go").write_text("package main // changed\n")

    assert step_key(s, root, []) != before


def test_step_key_ignores_files_that_are_not_inputs(root: Path) -> None:
    s = step("go-x", inputs=("src",))
    before = step_key(s, root, [])
    (root / "Dockerfile").write_text("FROM other\n")

    assert step_key(s, root, []) == before


def test_step_key_changes_when_a_param_changes(root: Path) -> None:
    keys = {step_key(step("go-x", inputs=("src",), params=p), root, []) for p in [("v1",), ("v2",), ("v1", "x")]}

    assert len(keys) == 3


def test_step_key_changes_when_a_dependency_key_changes(root: Path) -> None:
    s = step("image-x", "go-x", inputs=("Dockerfile",))

    assert step_key(s, root, ["aaaa"]) != step_key(s, root, ["bbbb"])
    assert step_key(s, root, ["aaaa"]) != step_key(s, root, [])


# ---------------------------------------------------------------- the real steps


EVERY = tuple(PIN_TABLE.values())


def test_step_names_are_unique_and_every_dependency_exists() -> None:
    steps = all_steps(*EVERY)
    by_name = {s.name for s in steps}

    assert len(by_name) == len(steps)
    for s in steps:
        assert set(s.deps) <= by_name, s.name


def test_no_two_steps_make_the_same_image_or_file_across_versions() -> None:
    """Every version keeps its own binaries, images, VM disk and stamp; the shared steps are
    built once whatever versions are asked for."""
    steps = all_steps(*EVERY)
    outputs = [o for s in steps for o in (s.image, *s.files) if o]

    assert len(outputs) == len(set(outputs))
    assert [s.name for s in steps].count("image-etcd") == 1
    assert {s.name for s in steps if s.name.startswith("go-kubernetes-")} == {
        f"go-kubernetes-{p.kubernetes}" for p in EVERY}
    assert names(all_steps()) == names(all_steps(PINS))


def test_all_steps_are_already_in_dependency_order() -> None:
    steps = all_steps(*EVERY)

    assert names(order(steps, None)) == names(steps)


def test_every_step_input_exists_in_the_repo() -> None:
    root = repo_root()
    for s in all_steps(*EVERY):
        for rel in s.inputs:
            assert (root / rel).exists(), f"{s.name}: {rel}"


def test_every_step_makes_an_image_or_files() -> None:
    for s in all_steps():
        assert s.image or s.files, s.name
    both = [s.name for s in all_steps() if s.image and s.files]
    assert both == ["image-vm-v1.35.4"]  # the VM image and the SSH key baked into it


def test_vm_disk_unpacks_only_what_the_vm_node_runs() -> None:
    steps = {s.name: s for s in all_steps()}
    disk = steps["vm-disk-v1.35.4"]
    assert disk.deps == ("image-vm-v1.35.4",) and steps["image-vm-v1.35.4"].deps == ("image-node-v1.35.4",)
    assert "svclab.local/kube-proxy:v1.35.4" in disk.params
    assert not any("kube-apiserver" in p or "etcd" in p for p in disk.params)
    assert disk.files == ("vm/v1.35.4/disk.raw", "vm/v1.35.4/vmlinuz", "vm/v1.35.4/initrd.img")


def test_the_node_preloads_every_other_image_and_builds_on_node_base() -> None:
    steps = {s.name: s for s in all_steps()}
    node = steps["image-node-v1.35.4"]
    other_images = {n for n in steps if n.startswith("image-") and n not in ("image-node-v1.35.4", "image-vm-v1.35.4")}

    assert set(node.deps) == other_images
    assert node.deps[0] == "image-node-base-v1.35.4"
    assert node.image == lab_images().node
    assert "image-node-base-v1.35.4" not in steps["image-node-base-v1.35.4"].deps


def test_the_node_image_carries_what_the_lab_needs() -> None:
    needed = {"image-kube-apiserver-v1.35.4", "image-kube-controller-manager-v1.35.4", "image-kube-scheduler-v1.35.4",
              "image-kube-proxy-v1.35.4", "image-etcd", "image-coredns", "image-pause", "image-labnet"}

    assert needed <= set(next(s for s in all_steps() if s.name == "image-node-v1.35.4").deps)


def test_kubernetes_is_keyed_on_its_pinned_version_and_built_from_its_own_module() -> None:
    for pins in EVERY:
        go = next(s for s in all_steps(pins) if s.name == f"go-kubernetes-{pins.kubernetes}")

        assert pins.kubernetes in go.params
        assert go.inputs == (f"lab/images/go/kubernetes-{pins.minor}",)
        gomod = (repo_root() / go.inputs[0] / "go.mod").read_text()
        assert f"require k8s.io/kubernetes {pins.kubernetes}" in gomod
        assert f"k8s.io/api => k8s.io/api v0.{pins.kubernetes.split('.', 1)[1]}" in gomod


# ---------------------------------------------------------------- ldflags


@pytest.mark.parametrize("pkg", ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"])
def test_k8s_ldflags_stamp_the_version(pkg: str) -> None:
    flags = k8s_ldflags("v1.35.4").split(" -X ")

    assert f"{pkg}.gitVersion=v1.35.4" in flags
    assert f"{pkg}.gitMajor=1" in flags
    assert f"{pkg}.gitMinor=35" in flags
    assert f"{pkg}.gitTreeState=clean" in flags


def test_k8s_ldflags_strip_symbols() -> None:
    assert k8s_ldflags("v1.34.0").startswith("-s -w -X ")
    assert "client-go/pkg/version.gitMinor=34" in k8s_ldflags("v1.34.0")
