"""Parse what lab commands print, one module per tool: ``ipvsadm -Ln``, ``dig``,
``netstat``/``ss`` and kubectl tables.

Every parser is a pure function: text in, frozen dataclasses out. Parsers never run commands
and never assert; they raise ``ValueError`` (one sentence quoting the offending line) only
when the text is not of the expected shape at all.
"""

from svclab.observe.parsers.dig import DigResult, DnsRecord, parse_dig
from svclab.observe.parsers.ipvsadm import RealServer, VirtualService, find_virtual, parse_ipvsadm
from svclab.observe.parsers.kubectl import PortSpec, parse_ports, parse_table
from svclab.observe.parsers.listeners import Listener, parse_listeners

__all__ = [
    "DigResult", "DnsRecord", "Listener", "PortSpec", "RealServer", "VirtualService", "find_virtual",
    "parse_dig", "parse_ipvsadm", "parse_listeners", "parse_ports", "parse_table",
]
