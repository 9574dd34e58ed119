"""URL patterns of one part of the pages, kept in its own module so that part can grow on its own."""

from __future__ import annotations

from typing import Any

from django.urls import path

from zhikong.web import assess

urlpatterns: list[Any] = [
    path("checks/", assess.checks_index, name="checks"),
    path("checks/<str:center>/<int:year>/", assess.checks, name="checks-center"),
    path("assess/ranking/<int:year>/", assess.ranking, name="assess-ranking"),
    path("assess/ranking/<int:year>/ranking.xlsx", assess.ranking_xlsx, name="assess-ranking-xlsx"),
    path("assess/<str:center>/<int:year>/", assess.assess, name="assess"),
    path("assess/<str:center>/<int:year>/form.docx", assess.assess_docx, name="assess-docx"),
]
