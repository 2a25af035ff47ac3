"""The harness tests and drills hold: the running lab (live.py), the jig that deploys and waits
(jig.py) and the troubleshooting checklist a failed verdict prints (facts.py). No pytest here."""
