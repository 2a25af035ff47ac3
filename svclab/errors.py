"""The few errors svclab raises; each message is one plain sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from svclab.result import CommandResult


class SvclabError(Exception):
    """Base class: the message says what is wrong and what to do."""


class SpecError(SvclabError):
    """The lab spec is wrong; raised before anything is provisioned."""


class HostError(SvclabError):
    """This host cannot run the requested lab (no Docker engine, no ip_vs, ...)."""


class LabError(SvclabError):
    """Provisioning or reaching the lab failed."""


class CommandError(SvclabError):
    """A command that had to succeed did not; carries its whole result."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(f"{message}\n{result.describe()}")
        self.result = result


class WaitTimeout(SvclabError):
    """A condition did not hold within its time limit."""
