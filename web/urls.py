"""The pages of `zhikong serve`."""

from __future__ import annotations

from django.urls import path, re_path

from zhikong.web import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/", views.password, name="password"),
    path("api/v1/search", api.search, name="api-search"),
    path("api/v1/records", api.records, name="api-records"),
    path("api/v1/records/<int:record_id>", api.record, name="api-record"),
    re_path(r"^static/(?P<name>[A-Za-z0-9_.-]+)$", views.static, name="static"),
]

handler404 = "zhikong.web.views.not_found"
handler500 = "zhikong.web.views.server_error"
