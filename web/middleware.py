"""Two small middlewares: the security headers Django does not set, and the logged-in account."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from zhikong.web.context import archive

Handler = Callable[[HttpRequest], HttpResponse]

# Everything from this server, nothing inline, nothing from elsewhere (the county network has no internet,
# and a page that pulled a script from outside could send a patient's data with it).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def security_headers(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = get_response(request)
        # The server's own time for the request (what bench/serve_load.py reports), shown by a browser's
        # developer tools too.
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if not request.path.startswith("/static/"):
            # Pages show records and personal data (masked or not): no copy in a shared PC's browser cache.
            response.setdefault("Cache-Control", "no-store")
        return response

    return middleware


def current_account(get_response: Handler) -> Handler:
    """`request.account`: the session's account while it is active and its password unchanged, else None
    (and the session is ended)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        request.account = None
        account_id = request.session.get("account")
        if account_id is not None:
            account = archive().user_by_id("网页端", int(account_id))
            if account is not None and account.active and account.generation == request.session.get("gen"):
                request.account = account
            else:
                request.session.flush()
        return get_response(request)

    return middleware
