"""Waits that follow the API server's watch (the kubernetes client) instead of polling kubectl.

A convergence time is the time of the event that completed the change, not of the next poll,
and no kubectl process runs per poll. The caller turns the state the watch built into a
verdict; the command in that verdict stays a kubectl line a person can run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

Obj = dict[str, Any]
State = dict[str, Obj]  # object name -> the object, as kubectl's JSON would show it
GONE = 410  # the resource version is too old: list again


@dataclass
class Watcher:
    """Lists then watches one kind of namespaced object until a condition on all of them holds."""

    kubeconfig: Path
    _api: Any = field(default=None, repr=False)

    def api(self) -> Any:
        if self._api is None:
            self._api = config.new_client_from_config(config_file=str(self.kubeconfig))
        return self._api

    def pods(self, namespace: str, selector: str, until: Callable[[State], bool],
             timeout: float) -> tuple[State, float, bool]:
        return self._until(client.CoreV1Api(self.api()).list_namespaced_pod, namespace, selector, until, timeout)

    def endpoint_slices(self, namespace: str, selector: str, until: Callable[[State], bool],
                        timeout: float) -> tuple[State, float, bool]:
        lister = client.DiscoveryV1Api(self.api()).list_namespaced_endpoint_slice
        return self._until(lister, namespace, selector, until, timeout)

    def _until(self, lister: Callable[..., Any], namespace: str, selector: str, until: Callable[[State], bool],
               timeout: float) -> tuple[State, float, bool]:
        """(the last state, seconds until it held or the time ran out, whether it held)."""
        start = time.monotonic()
        deadline = start + timeout
        state: State = {}
        while True:
            listed = lister(namespace, label_selector=selector, _request_timeout=30)
            state = {item.metadata.name: self._plain(item) for item in listed.items}
            if until(state):
                return state, time.monotonic() - start, True
            version = listed.metadata.resource_version
            try:
                if self._follow(lister, namespace, selector, version, state, until, deadline):
                    return state, time.monotonic() - start, True
                return state, time.monotonic() - start, False
            except ApiException as exc:
                if exc.status != GONE or time.monotonic() >= deadline:
                    raise

    def _follow(self, lister: Callable[..., Any], namespace: str, selector: str, version: str, state: State,
                until: Callable[[State], bool], deadline: float) -> bool:
        while (left := deadline - time.monotonic()) > 0:
            stream = watch.Watch()
            for event in stream.stream(lister, namespace, label_selector=selector, resource_version=version,
                                       timeout_seconds=max(1, int(left)), _request_timeout=left + 10):
                item = event["object"]
                version = item.metadata.resource_version
                if event["type"] == "DELETED":
                    state.pop(item.metadata.name, None)
                elif event["type"] in ("ADDED", "MODIFIED"):
                    state[item.metadata.name] = self._plain(item)
                if until(state):
                    stream.stop()
                    return True
                if time.monotonic() >= deadline:
                    stream.stop()
                    break
        return False

    def _plain(self, item: Any) -> Obj:
        plain: Obj = self.api().sanitize_for_serialization(item)
        return plain
