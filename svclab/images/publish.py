"""Getting the workloads' images onto a cluster svclab did not build: an archive to import
(`kind load image-archive`, `ctr -n k8s.io images import`), or a push to the user's registry.

Only the images the suites deploy go (myapp, the probe, MetalLB's two); the node images stay.
"""

from __future__ import annotations

from pathlib import Path

from svclab.core.catalog import REPOSITORY, WORKLOADS, built_images
from svclab.core.result import CommandResult, run


def workload_images() -> list[str]:
    imgs = built_images()
    return [getattr(imgs, name) for name in WORKLOADS]


def renamed(image: str, prefix: str) -> str:
    return image.replace(REPOSITORY, prefix.rstrip("/"), 1)


def export(path: Path, prefix: str = "") -> CommandResult:
    """One `docker save` archive (OCI layout inside) of the workloads' images, named under
    prefix when given (then pass the same --image-prefix to the run)."""
    names = workload_images()
    if prefix:
        for image in names:
            run(["docker", "tag", image, renamed(image, prefix)]).check(f"docker tag {image}")
        names = [renamed(i, prefix) for i in names]
    return run(["docker", "save", "-o", str(path), *names], timeout=600).check("docker save")


def push(prefix: str) -> list[CommandResult]:
    """Tag each workload image under prefix and push it (the registry is the user's)."""
    out = []
    for image in workload_images():
        target = renamed(image, prefix)
        run(["docker", "tag", image, target]).check(f"docker tag {image} {target}")
        out.append(run(["docker", "push", target], timeout=600).check(f"docker push {target}"))
    return out
