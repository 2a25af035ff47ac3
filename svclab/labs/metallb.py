"""MetalLB in layer-2 mode, for LoadBalancer Services, from images built here.

The manifest is MetalLB's own `config/manifests/metallb-native.yaml`, read from the Go
module the image factory downloaded, with its images swapped for the local builds.
The address pool is the lab spec's `lb_pool`, inside the lab's own Docker network.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from svclab.core.catalog import PINS, lab_images
from svclab.core.errors import HostError
from svclab.core.kubectl import Kubectl
from svclab.core.spec import LabSpec
from svclab.core.wait import wait_for

NAMESPACE = "metallb-system"


def manifest_path() -> Path:
    modcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=False)
    path = Path(modcache.stdout.strip()) / f"go.universe.tf/metallb@{PINS.metallb}/config/manifests/metallb-native.yaml"
    if not path.exists():
        raise HostError(f"MetalLB's manifest is not at {path}: run `python -m svclab.images` to fetch its module.")
    return path


def manifest() -> str:
    imgs = lab_images()
    text = manifest_path().read_text()
    for upstream, local in ((f"quay.io/metallb/controller:{PINS.metallb}", imgs.metallb_controller),
                            (f"quay.io/metallb/speaker:{PINS.metallb}", imgs.metallb_speaker)):
        if upstream not in text:
            raise HostError(f"MetalLB's manifest no longer names {upstream}; update svclab/labs/metallb.py.")
        text = text.replace(upstream, local)
    return text


def pool(spec: LabSpec, announcers: list[str] | None = None) -> str:
    """The lab's address pool, announced (layer 2) by every node or only by `announcers`."""
    l2: dict[str, object] = {"ipAddressPools": ["svclab"]}
    if announcers:
        l2["nodeSelectors"] = [{"matchLabels": {"kubernetes.io/hostname": n}} for n in announcers]
    docs = [
        {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
         "metadata": {"name": "svclab", "namespace": NAMESPACE}, "spec": {"addresses": [spec.lb_pool]}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement",
         "metadata": {"name": "svclab", "namespace": NAMESPACE}, "spec": l2},
    ]
    return "\n---\n".join(json.dumps(d) for d in docs)


def present(kubectl: Kubectl) -> bool:
    """MetalLB's controller runs on the cluster already (the user's, or a kept lab's)."""
    return kubectl.run("get", "deployment", "controller", "-n", NAMESPACE, "-o", "name").ok


def install(kubectl: Kubectl, spec: LabSpec, announcers: list[str] | None = None) -> bool:
    """Install MetalLB unless it runs already, then its pool; the pool is retried until the
    webhook answers. Returns whether MetalLB itself was installed now (see remove)."""
    installed = not present(kubectl)
    if installed:  # never re-apply over a MetalLB that is there: it may be the user's, of another version
        kubectl.apply(manifest())
    for kind, name in (("deployment", "controller"), ("daemonset", "speaker")):
        kubectl.run("rollout", "status", f"{kind}/{name}", "-n", NAMESPACE, "--timeout=180s",
                    timeout=200).check(f"MetalLB {name} rollout")
    wait_for(lambda: kubectl.run("apply", "-f", "-", stdin=pool(spec, announcers)).ok,
             what="MetalLB accepts the address pool (its webhook is up)", timeout=120, interval=2)
    return installed


def remove(kubectl: Kubectl, spec: LabSpec, installed: bool) -> None:
    """Undo install: the pool always, MetalLB itself only if install put it there."""
    kubectl.run("delete", "--ignore-not-found", "-f", "-", stdin=pool(spec)).check("deleting svclab's MetalLB pool")
    if installed:
        kubectl.run("delete", "--ignore-not-found", "--wait=true", "--timeout=180s", "-f", "-", stdin=manifest(),
                    timeout=200).check("uninstalling the MetalLB svclab installed")
