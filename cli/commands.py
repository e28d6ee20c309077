"""Sub-commands of ``warden``. Each ``add_*`` function registers one command."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Register every sub-command on the ``add_subparsers`` object ``sub``."""
    _add_settings(sub)


def _add_settings(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "settings",
        help="validate the application settings in the environment and print them (secrets hidden)",
    )
    p.set_defaults(handler=_settings)


def _settings(args: argparse.Namespace) -> int:
    from shared.settings import load_settings

    settings = load_settings()
    for name, value in settings.model_dump().items():
        print(f"{name}: {value}")
    return 0
