"""Notifications in the admin: read-only, for operators tracing what was told to whom and when."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notifications.events import describe
from notifications.models import Mute, Notification, Preference
from portal.admin import ReadOnlyAdmin


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "updated_at",
        "recipient",
        "event",
        "text",
        "email_mode",
        "emailed_at",
        "digested_at",
        "read_at",
    )
    list_filter = ("event", "email_mode")
    list_select_related = ("recipient",)
    search_fields = ("recipient__email", "recipient__name")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("text"))
    def text(self, obj: Notification) -> str:
        return describe(obj.event, obj.params, obj.count)


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "event", "email", "in_app")
    list_filter = ("event", "email")
    list_select_related = ("user",)
    search_fields = ("user__email",)


@admin.register(Mute)
class MuteAdmin(ReadOnlyAdmin):
    list_display = ("user", "collaboration", "created_at")
    list_select_related = ("user", "collaboration__partner", "collaboration__customer")
    search_fields = ("user__email",)
