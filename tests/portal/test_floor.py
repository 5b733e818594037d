"""The benchmarks' floor page: the base layout alone, for logged-in users only."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_floor_renders_the_layout_for_any_logged_in_user(world: Any, login: Any) -> None:
    for user in (world.admin, world.customer_user, world.outsider):
        response = login(user).get(reverse("bench_floor"))
        assert response.status_code == 200
        assert b'<main id="main"' in response.content


def test_floor_needs_a_login(client: Any) -> None:
    response = client.get(reverse("bench_floor"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
