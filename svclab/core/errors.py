"""The few errors svclab raises; each message is one plain sentence."""

from __future__ import annotations


class SvclabError(Exception):
    """Base class: the message says what is wrong and what to do."""


class SpecError(SvclabError):
    """The lab spec is wrong; raised before anything is provisioned."""


class HostError(SvclabError):
    """This host cannot run the requested lab (no Docker engine, no ip_vs, ...)."""


class LabError(SvclabError):
    """Provisioning or reaching the lab failed."""


class WaitTimeout(SvclabError):
    """A condition did not hold within its time limit."""
