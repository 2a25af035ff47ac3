"""The suites get their fixtures from the svclab plugin (pytest11 entry point)."""
