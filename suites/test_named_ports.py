"""Named target ports (seed 002): `targetPort: http` follows each pod's own number for
the name. While one pod declares a number its process does not listen on, that pod's
share of connections is refused; once it listens there, all succeed, and the port can
move without touching the Service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from svclab.expect import holds, reaches_all, refused_share, verify
from svclab.plugin.fixtures import Jig, Pod, Probe, myapp_deployment

REQUESTS = 90
LABELS = {"app": "named", "release": "v1"}


def variant(name: str, replicas: int, declared: int, listens: str) -> Callable[[dict[str, Any]], None]:
    """myapp without a readiness probe (as in the seed), declaring `http` = declared."""

    def tweak(d: dict[str, Any]) -> None:
        d["metadata"]["name"] = name
        d["spec"]["replicas"] = replicas
        d["spec"]["selector"]["matchLabels"] = {**LABELS, "variant": name}
        d["spec"]["template"]["metadata"]["labels"] = {**LABELS, "variant": name}
        container = d["spec"]["template"]["spec"]["containers"][0]
        container.pop("readinessProbe")
        container["ports"] = [{"name": "http", "containerPort": declared}]
        container["env"] = [{"name": "MYAPP_PORTS", "value": listens}]

    return tweak


@pytest.fixture(scope="module")
def setup(jig: Jig, probe: Probe) -> tuple[str, list[Pod], list[Pod]]:
    jig.apply(myapp_deployment(), variant("named-good", 2, 80, "80"))
    jig.apply(myapp_deployment(), variant("named-odd", 1, 8080, "80"))  # declares 8080, listens on 80
    good = jig.wait_ready_pods({"variant": "named-good"}, 2)
    odd = jig.wait_ready_pods({"variant": "named-odd"}, 1)
    svc = jig.create_service("myapp-named", target="http", tweak=lambda s: s["spec"].update(selector=LABELS))
    jig.wait_endpoints("myapp-named", [p.ip for p in good + odd])
    ip = str(svc["spec"]["clusterIP"])
    probe.wait_answers(f"http://{ip}/hostname.html", full=False)  # the odd pod refuses its share
    return ip, good, odd


def test_the_pod_not_listening_on_its_declared_port_refuses_its_share(
        jig: Jig, probe: Probe, setup: tuple[str, list[Pod], list[Pod]]) -> None:
    ip, good, odd = setup
    verify(refused_share(probe.curl(f"http://{ip}/hostname.html", REQUESTS), [p.name for p in good],
                         [p.name for p in odd]), jig.facts("myapp-named"))


def test_after_the_fix_every_connection_succeeds(
        jig: Jig, probe: Probe, setup: tuple[str, list[Pod], list[Pod]]) -> None:
    """The declared number is the real cause: once the odd pod listens where it declares,
    the same Service (untouched: same resourceVersion) answers every request."""
    ip, good, _ = setup
    url = f"http://{ip}/hostname.html"
    before = jig.get("service", "myapp-named")["metadata"]["resourceVersion"]
    for declared, listens in ((8080, "8080"), (80, "80")):  # fixed, then the port moves 8080 -> 80
        jig.apply(myapp_deployment(), variant("named-odd", 1, declared, listens))
        odd = jig.wait_ready_pods({"variant": "named-odd"}, 1)
        names = [p.name for p in good + odd]
        jig.wait_endpoints("myapp-named", [p.ip for p in good + odd], facts=jig.facts("myapp-named"))
        probe.wait_only(url, names, facts=jig.facts("myapp-named"))
        verify(reaches_all(probe.curl(url, REQUESTS), names), jig.facts("myapp-named"))
    after = jig.get("service", "myapp-named")["metadata"]["resourceVersion"]
    verify(holds("the Service itself was never changed", after == before, f"resourceVersion {before}", after))
