"""Providers, registered by name and imported only when used (as testinfra's backends)."""

from __future__ import annotations

import importlib

from lab.errors import LabError
from lab.providers.base import Provider

PROVIDERS: dict[str, str] = {
    "netns": "lab.providers.netns:NetnsProvider",
    "vagrant": "lab.providers.vagrant:VagrantProvider",
}


def get_provider(name: str) -> Provider:
    try:
        dotted = PROVIDERS[name]
    except KeyError:
        raise LabError(
            f"unknown lab provider {name!r}",
            f"use one of: {', '.join(sorted(PROVIDERS))} (e.g. --lab=netns)",
        ) from None
    module_name, _, class_name = dotted.partition(":")
    provider_class = getattr(importlib.import_module(module_name), class_name)
    return provider_class()
