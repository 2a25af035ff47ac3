"""The offline image factory: every image the lab uses, built on this machine."""
