"""svclab: prove how Kubernetes Services really behave on a real lab cluster."""

__version__ = "0.1.0"
