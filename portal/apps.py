from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        # Every process sets Django up before its first request or task: gunicorn, Celery's worker
        # and beat, manage.py. A production one stops here on the embedded default's settings.
        from portal.production import refuse_unsafe_production

        refuse_unsafe_production()

        from django.contrib.auth.signals import user_logged_in

        from portal.twofactor import note_second_factor_due

        # Whichever form logged the person in (the portal's, Django admin's), a second factor is due.
        user_logged_in.connect(note_second_factor_due, dispatch_uid="portal.twofactor")
