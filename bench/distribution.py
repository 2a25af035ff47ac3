"""Benchmark: one batch of N requests from the probe pod (one exec) against a ClusterIP,
beside N separate `kubectl exec curl` calls, on a running lab.

    python bench/distribution.py --kubeconfig PATH [--requests 300]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from svclab.core import tools
from svclab.core.kubectl import Kubectl
from svclab.harness.jig import Jig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--per-exec", type=int, default=30, help="requests made one exec at a time")
    args = parser.parse_args()
    kubectl = Kubectl(args.kubeconfig, tools.binary("kubectl"))
    ns = f"bench-{int(time.time())}"
    kubectl.run("create", "namespace", ns).check("create namespace")
    try:
        jig = Jig(kubectl, ns)
        pods = jig.deploy_myapp(3)
        probe = jig.start_probe()
        ip = jig.create_service("myapp")["spec"]["clusterIP"]
        jig.wait_endpoints("myapp", [p.ip for p in pods])
        url = f"http://{ip}/hostname.html"
        probe.wait_answers(url)
        start = time.monotonic()
        batch = probe.curl(url, args.requests)
        one_exec = time.monotonic() - start
        start = time.monotonic()
        for _ in range(args.per_exec):
            probe.curl(url, 1)
        per_request = (time.monotonic() - start) / args.per_exec
        print(f"| {args.requests} requests in one exec | {one_exec:.2f} s | {len(batch.ok())} ok "
              f"| one exec per request: {per_request:.3f} s each, {per_request * args.requests:.1f} s "
              f"for {args.requests} (estimated from {args.per_exec}) | ratio "
              f"{per_request * args.requests / one_exec:.1f}x |")
    finally:
        kubectl.run("delete", "namespace", ns, "--wait=false")


if __name__ == "__main__":
    main()
