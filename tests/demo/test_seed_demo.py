"""seed_demo makes users with a published password: production (DEBUG off) gets it only when
forced. (What it makes is tested in tests/demo/test_seed_demo_billing.py, with --force.)"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from portal.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_without_debug_and_changes_nothing(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match=r"PORTAL_DEBUG is false.*--force"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


def test_seed_demo_help_names_the_force_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("seed_demo", "--help")
    assert "--force" in capsys.readouterr().out
