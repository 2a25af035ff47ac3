"""Core: commands and their results (one Shell protocol), errors, the one wait helper, the lab
spec, pinned versions and image names, assets, progress lines. Imports nothing else of svclab."""
