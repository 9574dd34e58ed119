"""The pages of `zhikong serve`."""

from __future__ import annotations

from django.urls import path, re_path

from zhikong.web import admin, api, assess_urls, browse, drafts, handover_urls, logpage, search, upload, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/", views.password, name="password"),
    path("archive/", browse.centers, name="centers"),
    path("archive/<str:center>/", browse.center, name="center"),
    path("archive/<str:center>/<int:year>/", browse.year, name="year"),
    path("records/<int:record_id>/", browse.record, name="record"),
    path("records/<int:record_id>/file", browse.record_file, name="record-file"),
    path("records/<int:record_id>/preview", browse.record_preview, name="record-preview"),
    path("records/<int:record_id>/edit", browse.record_edit, name="record-edit"),
    path("records/<int:record_id>/restore", browse.record_restore, name="record-restore"),
    path("upload/", upload.page, name="upload"),
    path("drafts/", drafts.queue, name="drafts"),
    path("drafts/new/", drafts.new, name="draft-new"),
    path("drafts/new-data/", drafts.new_from_data, name="draft-new-data"),
    path("drafts/<int:draft_id>/", drafts.detail, name="draft"),
    path("drafts/<int:draft_id>/file", drafts.draft_file, name="draft-file"),
    path("drafts/<int:draft_id>/preview", drafts.draft_preview, name="draft-preview"),
    path("drafts/<int:draft_id>/upload", drafts.upload, name="draft-upload"),
    path("drafts/<int:draft_id>/attachment/<int:number>", drafts.attachment, name="draft-attachment"),
    path("drafts/<int:draft_id>/submit", drafts.submit, name="draft-submit"),
    path("drafts/<int:draft_id>/decide", drafts.decide, name="draft-decide"),
    path("search/", search.page, name="search"),
    path("log/", logpage.page, name="log"),
    path("log/verify", logpage.verify, name="log-verify"),
    path("accounts/", admin.accounts, name="accounts"),
    path("accounts/<str:name>/", admin.account_page, name="account"),
    path("api/v1/search", api.search, name="api-search"),
    path("api/v1/records", api.records_endpoint, name="api-records"),
    path("api/v1/records/<int:record_id>", api.record, name="api-record"),
    path("api/v1/records/<int:record_id>/file", api.record_file, name="api-record-file"),
    path("api/v1/check", api.check, name="api-check"),
    path("api/v1/openapi.json", api.openapi, name="api-openapi"),
    re_path(r"^static/(?P<name>[A-Za-z0-9_.-]+)$", views.static, name="static"),
    *assess_urls.urlpatterns,  # checks, the annual assessment, the ranking
    *handover_urls.urlpatterns,  # handover in the browser
]

handler404 = "zhikong.web.views.not_found"
handler500 = "zhikong.web.views.server_error"
