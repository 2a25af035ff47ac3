"""UDP probes: datagrams sent and answered, returned as the same Batch that curl's are.

No common tool sends N datagrams each from a new socket and reports every answer with its
timing, and forking `nc` per datagram costs 8-40x under TCG (bash's /dev/udp cannot do it: bash
reads a socket a byte at a time, and the first byte's recv consumes the whole datagram); so one
perl process does it and prints curl's write-out lines, so that parse_batch and every verdict
read UDP like HTTP. myapp answers a datagram
with its pod's name, or with the peer it sees for the datagram "clientip".

No answer within the timeout is "timed out" (exit 28); an ICMP port unreachable turns the
next recv on the connected socket into ECONNREFUSED: "refused" (exit 7). Exit 2: the probe could
not make its socket or send (its error on stderr); 56: another receive error. Neither counts
as a refusal.
"""

from __future__ import annotations

from svclab.core.shell import Shell
from svclab.observe.probes import BATCH_BUDGET, MARK, MAX_REQUESTS, Batch, parse_batch

READ_TIMEOUT = 2.0
FLOW_PACE = 0.5  # seconds between two datagrams of one flow

# perl-base is in every Debian image (the probe's and the outside client's); Time::HiRes is not,
# so time comes from /proc/uptime (10 ms steps, on every architecture)
SCRIPT = r"""
use IO::Socket::INET; use IO::Select;
my ($h, $p, $n, $msg, $t, $flow, $pace, $moved, $sport) = @ARGV;
sub now { open(my $f, '<', '/proc/uptime') or return 0; my ($u) = split ' ', scalar <$f>; return $u }
$| = 1;
my ($start, $first, $other, $sock) = (now(), undef, 0, undef);
for my $i (1 .. $n) {
    last if $flow && $other >= $moved;
    $sock = undef unless $flow;  # a batch: a new socket, a new source port, for each datagram
    $sock //= IO::Socket::INET->new(PeerAddr => $h, PeerPort => $p, Proto => 'udp',
                                    ($sport ? (LocalPort => $sport) : ()));
    my ($s, $line, $c, $x) = (now(), '', 0, 2);  # 2: the probe could not send (said on stderr)
    if (!$sock) { print STDERR "socket: $!\n" }
    elsif (!defined send($sock, "$msg\n", 0)) { $x = $!{ECONNREFUSED} ? 7 : 2; print STDERR "send: $!\n" if $x == 2 }
    else {
        $x = 28;
        if (IO::Select->new($sock)->can_read($t)) {
            if (defined recv($sock, my $buf, 512, 0)) { ($line, $c, $x) = ($buf, 200, 0); chomp $line }
            elsif ($!{ECONNREFUSED}) { $x = 7 }
            else { $x = 56; print STDERR "recv: $!\n" }
        }
    }
    my $e = now();
    printf "%s\n%scode=%d exit=%d time=%.2f remote=%s at=%.2f\n", $line, $ENV{MARK}, $c, $x, $e - $s, $h, $e - $start;
    if ($flow && $x == 0) { $first //= $line; $other++ if $line ne $first }
    select(undef, undef, undef, $pace) if $flow;  # paced whatever came back: a refusal is at once
}
"""


def _bounded(count: int) -> None:
    if not 1 <= count <= MAX_REQUESTS:
        raise ValueError(f"a batch is 1 to {MAX_REQUESTS} datagrams, not {count}")


def udp_batch_argv(host: str, port: int, count: int, message: str = "hostname",
                   timeout: float = READ_TIMEOUT) -> list[str]:
    _bounded(count)
    return ["env", f"MARK={MARK}", "perl", "-e", SCRIPT, host, str(port), str(count), message, str(timeout),
            "0", "0", "0", "0"]


def udp_flow_argv(host: str, port: int, count: int, moved: int, sport: int = 0, timeout: float = 1.0,
                  pace: float = FLOW_PACE) -> list[str]:
    _bounded(count)
    return ["env", f"MARK={MARK}", "perl", "-e", SCRIPT, host, str(port), str(count), "hostname", str(timeout),
            "1", str(pace), str(moved), str(sport)]


def udp_batch(shell: Shell, host: str, port: int, count: int, message: str = "hostname") -> Batch:
    """`count` datagrams to host:port, each from a new source port; one process in all."""
    budget = min(count * READ_TIMEOUT + 30, BATCH_BUDGET)
    return parse_batch(f"udp://{host}:{port}", shell.run(udp_batch_argv(host, port, count, message),
                                                         timeout=budget), count)


def udp_flow(shell: Shell, host: str, port: int, count: int, moved: int, sport: int = 0) -> Batch:
    """One flow: up to `count` datagrams from one socket (from port `sport` when given), paced,
    ending early after `moved` answers from a pod other than the first answer's."""
    budget = min(count * (1.0 + FLOW_PACE) + 30, BATCH_BUDGET)
    return parse_batch(f"udp://{host}:{port}", shell.run(udp_flow_argv(host, port, count, moved, sport),
                                                         timeout=budget), count)
