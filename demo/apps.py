from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo and benchmark data: `seed_demo` (the embedded default's people, documents, signings and
    billing) and `bench_seed` (one partner at scale for bench/). No models; nothing in the product
    imports it (pyproject.toml's import contracts), and the settings install it only with
    PORTAL_DEBUG or PORTAL_DEMO on."""

    name = "demo"
    verbose_name = _("Demo data")
