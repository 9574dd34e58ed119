"""Django's session engine for `zhikong serve`: sessions kept in `.zhikong/accounts.sqlite`.

Kept on the server (not in a signed cookie) so that logging out, a password change or a disabled account
ends a session for good; counted with the server's clock (`ZHIKONG_CLOCK`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase

from zhikong.archive.settings import SYSTEM_DIR
from zhikong.web.accounts import Accounts
from zhikong.web.context import now


def _accounts() -> Accounts:
    return Accounts.open(Path(settings.ZHIKONG_ROOT) / SYSTEM_DIR)


class SessionStore(SessionBase):
    def load(self) -> dict[str, Any]:
        data = None
        if self.session_key is not None:
            with _accounts() as accounts:
                data = accounts.session_load(self.session_key, now())
        if data is None:
            self._session_key = None
            return {}
        decoded: dict[str, Any] = self.decode(data)
        return decoded

    def exists(self, session_key: str) -> bool:
        with _accounts() as accounts:
            return accounts.session_load(session_key, now()) is not None

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
            return
        data = self.encode(self._get_session(no_load=must_create))
        with _accounts() as accounts:
            saved = accounts.session_save(
                self.session_key, data, now() + self.get_expiry_age(), must_create=must_create
            )
        if not saved:
            raise CreateError

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is None:
            return
        with _accounts() as accounts:
            accounts.session_delete(key)

    @classmethod
    def clear_expired(cls) -> None:
        with _accounts() as accounts:
            accounts.sessions_expire(now())
