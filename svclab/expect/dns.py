"""DNS expectations: the exact records, with authority, or a plain sentence on why not."""

from __future__ import annotations

from svclab.core.result import CommandResult
from svclab.expect.verdict import Verdict
from svclab.observe.parsers import DigResult, parse_dig

# dig's exit codes (dig(1)): 9 means no reply came back at all
DIG_EXITS = {1: "usage error", 8: "could not open the batch file", 9: "no reply from the server",
             10: "internal error"}


def read_dig(result: CommandResult) -> tuple[DigResult | None, str]:
    """The parsed answer, or None and a sentence saying why there is none."""
    if result.rc in DIG_EXITS:
        said = next((ln.strip(" ;") for ln in result.stdout.splitlines() if "timed out" in ln or "no servers" in ln),
                    "")
        return None, f"no DNS answer: dig exit {result.rc} ({DIG_EXITS[result.rc]}){': ' + said if said else ''}"
    if result.rc == 124:
        return None, "no DNS answer: the query did not finish within its time limit"
    try:
        return parse_dig(result.stdout), ""
    except ValueError as exc:
        return None, f"dig printed no DNS reply (exit {result.rc}): {exc}"


def dns_answer(result: CommandResult, name: str, want: set[str], rtype: str = "A",
               server: str | None = None) -> Verdict:
    """The answer for `name` is exactly `want` (addresses, or CNAME targets), NOERROR with
    authority, and (when given) from `server`."""
    expected = f"NOERROR, authoritative, {sorted(want)}" + (f" from {server}" if server else "")
    dig, why = read_dig(result)
    if dig is None:
        return Verdict(f"DNS {rtype} {name}", False, expected, why, (result,))
    got = set(dig.cnames()) if rtype == "CNAME" else set(dig.addresses())
    ok = bool(want) and dig.status == "NOERROR" and got == want and "aa" in dig.flags
    ok = ok and (server is None or dig.server == server)
    return Verdict(f"DNS {rtype} {name}", ok, expected,
                   f"{dig.status}, flags {' '.join(sorted(dig.flags))}, {sorted(got)} from {dig.server}",
                   (result,), data={"status": dig.status, "server": dig.server,
                                    "answers": [f"{r.name} {r.ttl} {r.rtype} {r.data}" for r in dig.answers]})


def dns_status(result: CommandResult, name: str, statuses: set[str]) -> Verdict:
    """The server answered `name` with one of `statuses` and no records (NXDOMAIN, SERVFAIL...)."""
    expected = f"a reply with status {' or '.join(sorted(statuses))} and no answer records"
    dig, why = read_dig(result)
    if dig is None:
        return Verdict(f"DNS {name} is {'/'.join(sorted(statuses))}", False, expected, why, (result,))
    return Verdict(f"DNS {name} is {'/'.join(sorted(statuses))}", dig.status in statuses and not dig.answers,
                   expected, f"{dig.status}, {len(dig.answers)} answer records from {dig.server}", (result,),
                   data={"status": dig.status, "server": dig.server})
