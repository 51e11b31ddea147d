"""Journeys: a link ends when its downloads are used up, it expires or is revoked.

Also the link-preview robot (C06) and expiry on every path (C09).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from browsing import Contexts
from conftest import EXPIRY_MIN_SECONDS
from owner import claim, status, wait_for_state
from pages import (
    SentShare,
    choose_files,
    download,
    expect_unavailable,
    open_manage_page,
    open_receive_page,
    open_send_page,
    send,
    set_downloads,
    set_expiry,
    sha256_file,
)
from playwright.sync_api import expect
from serverproc import RunningServer

pytestmark = pytest.mark.browser


def _send_one(
    server: RunningServer,
    contexts: Contexts,
    source: Path,
    *,
    downloads: int | None = None,
    expiry: int | None = None,
) -> SentShare:
    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_files(sender, [source])
    if downloads is not None:
        set_downloads(sender, downloads)
    if expiry is not None:
        set_expiry(sender, expiry)
    sent = send(sender)
    assert sent.owner_token, "the send page must show the manage link"
    return sent


def _receive_ok(contexts: Contexts, link: str, source: Path, out: Path) -> None:
    recipient = contexts.page("recipient")
    open_receive_page(recipient, link)
    item, saved = download(recipient, 0, out)
    assert item.failure() is None
    assert sha256_file(saved) == sha256_file(source)


def test_one_download_link_refuses_a_second_download(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    source = make_file("unique.bin", os.urandom(40_000))
    sent = _send_one(server, contexts, source, downloads=1)

    _receive_ok(contexts, sent.link, source, tmp_path)

    late = contexts.page("late recipient")
    open_receive_page(late, sent.link)
    expect_unavailable(late)
    with server.client() as client:
        current = status(client, sent.share_id, str(sent.owner_token))
    assert current["downloads"] == 1


def test_link_preview_robots_do_not_consume_a_one_download_link(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    # C06: a plain GET of the page and a headless browser that renders the
    # page without clicking must leave the single download to the person.
    source = make_file("preview.bin", os.urandom(30_000))
    sent = _send_one(server, contexts, source, downloads=1)

    with server.client() as client:
        page = client.get(f"/s/{sent.share_id}")
        assert page.status_code == 200
    robot = contexts.page("preview robot")
    open_receive_page(robot, sent.link)
    robot.wait_for_load_state("networkidle")
    robot.context.close()
    with server.client() as client:
        assert status(client, sent.share_id, str(sent.owner_token))["downloads"] == 0

    _receive_ok(contexts, sent.link, source, tmp_path)


def test_expired_link_is_refused_on_every_path(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    # C09: after expiry the page, the manifest, each blob and a Range request
    # are all refused, even with a ticket claimed while the link was valid.
    source = make_file("ephemere.bin", os.urandom(50_000))
    sent = _send_one(server, contexts, source, expiry=EXPIRY_MIN_SECONDS)
    fragment = sent.link.split("#", 1)[1]

    with server.client() as client:
        claimed = claim(client, sent.share_id, fragment)
        wait_for_state(client, sent.share_id, str(sent.owner_token), "expired")

        base = f"/api/shares/{sent.share_id}"
        ticket = {"Sealpost-Ticket": claimed.ticket}
        answers = {
            "info": client.get(base),
            "manifest": client.get(f"{base}/manifest"),
            "blob": client.get(f"{base}/files/0", headers=ticket),
            "range": client.get(
                f"{base}/files/0", headers={**ticket, "Range": "bytes=0-99"}
            ),
            "claim": client.post(f"{base}/claim", json={"proof": "A" * 43}),
        }
    for path, answer in answers.items():
        assert answer.status_code == 404, path
        assert answer.json()["error"] == "unavailable", path

    recipient = contexts.page("recipient")
    open_receive_page(recipient, sent.link)
    expect_unavailable(recipient)


def test_revoked_link_is_refused(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    source = make_file("revoque.bin", os.urandom(20_000))
    sent = _send_one(server, contexts, source)

    owner = contexts.page("owner")
    assert sent.manage_link is not None
    open_manage_page(owner, sent.manage_link)
    owner.once("dialog", lambda dialog: dialog.accept())
    owner.locator("#revoke").click()
    with server.client() as client:
        wait_for_state(client, sent.share_id, str(sent.owner_token), "revoked")
    expect(owner.locator("#revoke")).to_be_disabled()

    recipient = contexts.page("recipient")
    open_receive_page(recipient, sent.link)
    expect_unavailable(recipient)
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get(f"/api/shares/{sent.share_id}").status_code == 404
