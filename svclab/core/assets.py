"""Where the non-Python assets (lab/, fixtures/) are: the source tree or the wheel."""

from __future__ import annotations

from pathlib import Path

import jinja2

_PACKAGE = Path(__file__).resolve().parent.parent  # the svclab package


def asset(*parts: str) -> Path:
    """Path of an asset such as asset("lab", "kind", "cluster.yaml.j2")."""
    for base in (_PACKAGE / "_assets", _PACKAGE.parent):
        path = base.joinpath(*parts)
        if path.exists():
            return path
    raise FileNotFoundError(f"svclab asset {'/'.join(parts)} is missing from this install")


def repo_root() -> Path:
    """The folder holding lab/ and fixtures/ (the checkout, or the wheel's copy)."""
    return asset("lab").parent


def render(*parts: str, **values: object) -> str:
    """Render a jinja2 template asset; undefined names are an error, not blank text."""
    path = asset(*parts)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(path.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(path.name).render(**values)
