from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocrequestsConfig(AppConfig):
    name = "docrequests"
    verbose_name = _("Document requests")
