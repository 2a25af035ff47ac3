"""Observe: what the lab does, as frozen results that never assert: traffic batches (curl),
DNS (dig), the data plane per kube-proxy mode, the mode in force, parsers per tool, watches."""
