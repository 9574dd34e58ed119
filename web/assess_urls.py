"""URL patterns of one part of the pages, kept in its own module so that part can grow on its own."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
