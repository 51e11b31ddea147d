"""The account, address-book, box and inbox calls of the HTTP API.

See docs/api-accounts.md. Every key-ish value the server hands back is
opaque to it; the callers check them with pyodide_crypto before use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .api import ServerApi
from .errors import CliError


class MailApi(ServerApi):
    """:class:`ServerApi` plus sessions, the directory, boxes and inboxes.

    A successful :meth:`activate` or :meth:`login` keeps the session cookie
    in memory and sets :attr:`csrf_token`; nothing is written to disk.
    """

    # -- accounts ------------------------------------------------------------

    async def activate_start(self, handle: str, code: str) -> dict[str, Any]:
        """Check an activation code without using it: ``{account_id, ...}``."""
        return await self.request_json(
            "POST", "/api/activate/start", json={"handle": handle, "code": code}
        )

    async def activate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Use the code, store the new keys and sign in: *me*."""
        return self._signed_in(
            await self.request_json("POST", "/api/activate", json=body)
        )

    async def login_params(self, handle: str) -> dict[str, Any]:
        """The KDF description to derive the login secret with."""
        return await self.request_json(
            "POST", "/api/login/params", json={"handle": handle}
        )

    async def login(self, handle: str, auth: str) -> dict[str, Any]:
        """Sign in with the derived auth secret (b64url): *me*."""
        return self._signed_in(
            await self.request_json(
                "POST", "/api/login", json={"handle": handle, "auth": auth}
            )
        )

    async def logout(self) -> None:
        """End this session on the server."""
        await self.request_json("POST", "/api/logout")
        self.csrf_token = None

    async def me(self) -> dict[str, Any]:
        return await self.request_json("GET", "/api/me")

    async def change_passphrase(self, body: dict[str, Any]) -> None:
        """``PUT /api/me/passphrase`` with the old and new auth, re-wrapped key."""
        await self.request_json("PUT", "/api/me/passphrase", json=body)

    async def directory(self, query: str) -> dict[str, Any]:
        """Accounts and boxes matching ``query`` (signed in only)."""
        return await self.request_json("GET", "/api/directory", params={"q": query})

    # -- boxes and inboxes ---------------------------------------------------

    async def box_by_slug(self, slug: str) -> dict[str, Any]:
        """What a depositor needs: ``{id, name, department, version, public_key}``."""
        return await self.request_json(
            "GET", f"/api/boxes/by-slug/{quote(slug, safe='')}"
        )

    async def box(self, box_id: str) -> dict[str, Any]:
        """A box with all its key versions (members only)."""
        return await self.request_json("GET", f"/api/boxes/{quote(box_id, safe='')}")

    async def inbox(self) -> list[dict[str, Any]]:
        return _items(await self.request_json("GET", "/api/inbox"))

    async def box_inbox(self, box_id: str) -> list[dict[str, Any]]:
        return _items(
            await self.request_json("GET", f"/api/boxes/{quote(box_id, safe='')}/inbox")
        )

    async def mark_read(self, share_id: str) -> None:
        await self.request_json("POST", f"/api/inbox/{quote(share_id, safe='')}/read")

    def signed_in(self, me: dict[str, Any]) -> dict[str, Any]:
        """Keep the CSRF token of a *me* answer that opened a session."""
        return self._signed_in(me)

    def _signed_in(self, me: dict[str, Any]) -> dict[str, Any]:
        token = me.get("csrf_token")
        self.csrf_token = token if isinstance(token, str) else None
        return me


def _items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    items = answer.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CliError("the server sent an unexpected inbox")
    return items
