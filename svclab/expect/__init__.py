"""Named expectations: what should happen, compared with what did (the suites' vocabulary)."""

from svclab.expect.dataplane import entries_present, ipvs_virtual_server, reaches_or_quiesced
from svclab.expect.dns import dns_answer, dns_status
from svclab.expect.flow import flow_moved, flow_pinned
from svclab.expect.latency import followed_within, stream_kept
from svclab.expect.randomness import random_choice
from svclab.expect.source import rejected, source_seen
from svclab.expect.spread import RANDOM_SAMPLE
from svclab.expect.traffic import (
    answered,
    one_pod,
    reaches_all,
    refused_share,
    round_robin,
    several_pods,
    unanswered,
)
from svclab.expect.verdict import Verdict, VerdictFailed, holds, refuted, settle, verify, verify_all
from svclab.expect.warnings import deprecation_logged, deprecation_warning

__all__ = [
           "RANDOM_SAMPLE",
           "Verdict",
           "VerdictFailed",
           "answered",
           "deprecation_logged",
           "deprecation_warning",
           "dns_answer",
           "dns_status",
           "entries_present",
           "flow_moved",
           "flow_pinned",
           "followed_within",
           "holds",
           "ipvs_virtual_server",
           "one_pod",
           "random_choice",
           "reaches_all",
           "reaches_or_quiesced",
           "refused_share",
           "refuted",
           "rejected",
           "round_robin",
           "settle",
           "several_pods",
           "source_seen",
           "stream_kept",
           "unanswered",
           "verify",
           "verify_all",
]
