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

        from django.contrib.auth.signals import user_logged_out

        from portal.sessions import session_logged_out, session_started

        # Each login's row in the person's session list (My account), gone at logout.
        user_logged_in.connect(session_started, dispatch_uid="portal.sessions.started")
        user_logged_out.connect(session_logged_out, dispatch_uid="portal.sessions.logged_out")
