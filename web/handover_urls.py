"""URL patterns of one part of the pages, kept in its own module so that part can grow on its own."""

from __future__ import annotations

from typing import Any

from django.urls import path

from zhikong.web import handover

urlpatterns: list[Any] = [
    path("handover/", handover.index, name="handover"),
    path("handover/start/", handover.start, name="handover-start"),
    path("handover/release/", handover.release, name="handover-release"),
    path("handover/jobs/<str:job>/", handover.job_page, name="handover-job"),
    path("handover/jobs/<str:job>/bundle.zip", handover.job_bundle, name="handover-bundle"),
    path("handover/jobs/<str:job>/papers/<str:name>", handover.job_paper, name="handover-paper"),
    path("handover/receive/", handover.receive, name="handover-receive"),
    path("handover/receive/<str:rid>/import", handover.receive_import, name="handover-import"),
]
