"""Journeys: staff accounts in /app: activation, sign-in, passphrase change,
and mail between two colleagues."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from boxpages import (
    add_member,
    create_box,
    deposit,
    deposit_link,
    grant,
    open_boxes,
    open_deposit_page,
    remove_member,
)
from browsing import Contexts
from pages import (
    TRANSFER_TIMEOUT_MS,
    choose_files,
    download,
    open_receive_page,
    open_send_page,
    send,
    sha256_file,
)
from playwright.sync_api import Page, expect
from samples import FRENCH_MESSAGE, FRENCH_NAME
from serverproc import ROOT, RunningServer, start_server, stop_server
from staff import (
    CLI,
    UNLOCK_TIMEOUT_MS,
    add_user,
    fresh_handle,
    new_staff,
    sign_in,
    signed_in,
    wait_idle,
)
from staffmail import (
    compose,
    inbox_items,
    item_message,
    open_item,
    pick_recipient,
    save_item_file,
)
from stored_secrets import account_secrets, leaks, run_async

from pyodide_crypto import accounts
from pyodide_crypto.encoding import b64url_decode, b64url_encode

pytestmark = pytest.mark.browser


def test_account_activation_sign_in_and_passphrase_change(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    page = contexts.page("staff")
    staff = new_staff(server, page, "amina", name="Amina Benali")
    fingerprint = staff.fingerprint
    # Something sealed to this account before the change, to open after it.
    kept = make_file("avant le changement.bin", os.urandom(40_000))
    compose(page, [staff.handle], [kept], "Note pour moi-même")

    # Keys live in the worker only: a reload asks for the passphrase again.
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-state", "login")
    # Only the handle comes back (from the still valid server session).
    expect(page.locator("#login-handle")).to_have_value(staff.handle)
    expect(page.locator("#login-passphrase")).to_have_value("")

    # A wrong passphrase fails cleanly: an error, still signed out.
    sign_in(page, server, staff.handle, "pas la bonne phrase")
    expect(page.locator("#error")).to_have_attribute(
        "data-code", "login_failed", timeout=UNLOCK_TIMEOUT_MS
    )
    expect(page.locator("body")).to_have_attribute("data-state", "login")

    sign_in(page, server, staff.handle, staff.passphrase)
    signed_in(page)
    assert staff.fingerprint == fingerprint

    # A wrong current passphrase is caught before the server is asked.
    page.click("button.tab[data-tab='settings']")
    page.fill("#pass-old", "pas la bonne phrase")
    page.fill("#pass-new1", "nouvelle phrase secrète")
    page.fill("#pass-new2", "nouvelle phrase secrète")
    page.click("#pass-submit")
    wait_idle(page)
    expect(page.locator("#error")).to_have_attribute("data-code", "login_failed")

    page.fill("#pass-old", staff.passphrase)
    page.fill("#pass-new1", "nouvelle phrase secrète")
    page.fill("#pass-new2", "nouvelle phrase secrète")
    page.click("#pass-submit")
    expect(page.locator("#pass-done")).to_be_visible(timeout=UNLOCK_TIMEOUT_MS)

    page.click("#logout")
    expect(page.locator("body")).to_have_attribute("data-state", "login")
    sign_in(page, server, staff.handle, staff.passphrase)
    expect(page.locator("#error")).to_have_attribute(
        "data-code", "login_failed", timeout=UNLOCK_TIMEOUT_MS
    )
    sign_in(page, server, staff.handle, "nouvelle phrase secrète")
    signed_in(page)
    # Same keys: the change re-wrapped the account key only, so what was
    # sealed to the account before still opens.
    assert staff.fingerprint == fingerprint
    rows = inbox_items(page)
    expect(rows).to_have_count(1)
    open_item(rows.first)
    assert sha256_file(save_item_file(page, 0, tmp_path)) == sha256_file(kept)


def test_account_activation_code_is_checked_before_any_key_is_made(
    server: RunningServer, contexts: Contexts
) -> None:
    handle = fresh_handle("bruno")
    add_user(server, handle, name="Bruno")
    page = contexts.page("staff")
    page.goto(server.url("/app"))
    page.click("#show-activate")
    page.fill("#activate-handle", handle)
    page.fill("#activate-code", "22222-22222-22222")
    page.click("#activate-check")
    wait_idle(page)
    expect(page.locator("#error")).to_have_attribute("data-code", "activation_failed")
    expect(page.locator("#activate-pass-form")).to_be_hidden()


def test_mail_between_colleagues_arrives_encrypted_to_their_key(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    alice = new_staff(server, contexts.page("alice"), "alice", name="Alice Roux")
    bruno = new_staff(server, contexts.page("bruno"), "bruno", name="Bruno Petit")
    source = make_file(FRENCH_NAME, os.urandom(300_000))

    # The picker shows the fingerprint Bruno sees as his own.
    alice.page.click("button.tab[data-tab='compose']")
    shown = pick_recipient(alice.page, bruno.handle)
    assert shown == bruno.fingerprint
    compose(alice.page, [], [source], FRENCH_MESSAGE)

    rows = inbox_items(bruno.page)
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_have_attribute("data-read", "false")
    expect(row.locator(".sender")).to_contain_text(alice.handle)
    open_item(row)
    assert item_message(bruno.page) == FRENCH_MESSAGE
    expect(bruno.page.locator("#item-files li .name")).to_have_text([FRENCH_NAME])
    saved = save_item_file(bruno.page, 0, tmp_path)
    assert sha256_file(saved) == sha256_file(source)

    rows = inbox_items(bruno.page)
    expect(rows.first).to_have_attribute("data-read", "true")
    # Alice's own inbox stays empty: the share went to Bruno only.
    expect(inbox_items(alice.page)).to_have_count(0)


@pytest.fixture(scope="module")
def scan_server(tmp_root: Path) -> Iterator[RunningServer]:
    """A server of this test's own: everything in its data folder is ours."""
    running = start_server(tmp_root, "scan", {})
    yield running
    stop_server(running)


def _get(page: Page, server: RunningServer, path: str) -> Any:
    response = page.request.get(server.url(path))
    assert response.status == 200, path
    return response.json()


def test_server_stores_no_plaintext_name_message_key_or_passphrase(
    scan_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    server = scan_server
    known: dict[str, bytes] = {}

    def sample(label: str, name: str, size: int) -> Path:
        content = os.urandom(size)
        known[f"{label} name"] = name.encode()
        known[f"{label} start"] = content[:64]
        known[f"{label} middle"] = content[size // 2 : size // 2 + 64]
        return make_file(name, content)

    def text(label: str, value: str) -> str:
        known[label] = value.encode()
        return value

    admin = new_staff(server, contexts.page("admin"), "ines", name="Inès", role="admin")
    colleague = new_staff(server, contexts.page("colleague"), "jules", name="Jules")
    first_passphrase = admin.passphrase
    known["old passphrase"] = first_passphrase.encode()
    known["colleague passphrase"] = colleague.passphrase.encode()
    new_passphrase = text("new passphrase", "une toute nouvelle phrase")
    page = admin.page
    page.click("button.tab[data-tab='settings']")
    page.fill("#pass-old", first_passphrase)
    page.fill("#pass-new1", new_passphrase)
    page.fill("#pass-new2", new_passphrase)
    page.click("#pass-submit")
    expect(page.locator("#pass-done")).to_be_visible(timeout=UNLOCK_TIMEOUT_MS)

    # Mail with a link for an outsider, and the outsider's answer.
    link = compose(
        page,
        [colleague.handle],
        [sample("mail file", "Lettre de liaison Dupont.pdf", 70_000)],
        text("mail message", "Patient Dupont, sortie prévue jeudi."),
        link=True,
    )
    assert link is not None
    known["link secret"] = link.split("#", 1)[1].encode()
    outsider = contexts.page("outsider", locale="fr-FR")
    open_receive_page(outsider, link)
    expect(outsider.locator("#reply-form")).to_be_visible(timeout=UNLOCK_TIMEOUT_MS)
    outsider.set_input_files(
        "#reply-files", [str(sample("answer file", "Réponse Martin.txt", 9_000))]
    )
    outsider.fill("#reply-message", text("answer message", "Bien reçu, merci."))
    outsider.click("#reply-send")
    expect(outsider.locator("#reply")).to_have_attribute(
        "data-state", "sent", timeout=TRANSFER_TIMEOUT_MS
    )
    rows = inbox_items(colleague.page)
    open_item(rows.first)

    # A box, a deposit with a reply link, a member's answer, a rotation.
    slug = "scan-box"
    block = create_box(page, "Urgences", slug, [admin.handle])
    box_id = block.get_attribute("data-box-id")
    add_member(page, slug, colleague.handle)
    grant(page, slug, colleague.handle)
    depositor = contexts.page("depositor", locale="fr-FR")
    open_deposit_page(depositor, deposit_link(page, slug))
    reply_link = deposit(
        depositor,
        [sample("deposit file", "Ordonnance Bernard.pdf", 40_000)],
        text("deposit message", FRENCH_MESSAGE),
        want_reply=True,
    )
    assert reply_link is not None
    token, reply_key = reply_link.split("#", 1)[1].split(".")
    known["reply box private key"] = b64url_decode(reply_key)
    # The server keeps only a digest of the reply box's token.
    known["reply box token"] = token.encode()
    rows = inbox_items(page, box_id)
    open_item(rows.first)
    page.click("#item-reply")
    page.set_input_files(
        "#item-reply-files",
        [str(sample("reply file", "Convocation Bernard.pdf", 30_000))],
    )
    page.fill("#item-reply-message", text("reply message", "Venez lundi à 9 h."))
    page.click("#item-reply-send")
    expect(page.locator("#item-reply-done")).to_be_visible(timeout=TRANSFER_TIMEOUT_MS)
    open_boxes(page)
    remove_member(page, slug, colleague.handle)

    # Every key the browsers made, recovered from the server's records.
    for staff, passphrase, boxes in (
        (admin, new_passphrase, [box_id]),
        (colleague, colleague.passphrase, []),
    ):
        me = _get(staff.page, server, "/api/me")
        details = [_get(staff.page, server, f"/api/boxes/{b}") for b in boxes]
        for number, secret in enumerate(account_secrets(me, passphrase, details)):
            known[f"{staff.handle} key {number}"] = secret

    box_public = _get(page, server, f"/api/boxes/{box_id}")["public_key"]["key"]
    stop_server(server)
    roots = [server.data_dir, server.log_path]
    assert leaks(known, roots) == []
    # The scan does see what the server may store: a handle in clear, and a
    # public key in the base64url of its JSON.
    assert leaks({"handle": admin.handle.encode()}, roots) != []
    assert leaks({"box public key": b64url_decode(box_public)}, roots) != []


def _activate_by_api(
    server: RunningServer, handle: str, code: str, fields: dict[str, Any]
) -> None:
    """Activate with hand-made fields, as a hostile or broken server would
    hold them (the server treats them as opaque)."""
    with server.client() as client:
        response = client.post(
            "/api/activate", json={"handle": handle, "code": code, **fields}
        )
    assert response.status_code == 200, response.text


def _opaque(size: int) -> dict[str, str]:
    return {"v": b64url_encode(os.urandom(size))}


def test_sign_in_refuses_kdf_parameters_below_the_floor_before_any_work(
    server: RunningServer, contexts: Contexts
) -> None:
    handle = fresh_handle("weak")
    code = add_user(server, handle, name="Weak")
    weak = {
        "kdf": "argon2id",
        "m": 1024,
        "t": 1,
        "p": 1,
        "salt": b64url_encode(os.urandom(16)),
    }
    _activate_by_api(
        server,
        handle,
        code,
        {
            "kdf": weak,
            "auth": b64url_encode(os.urandom(32)),
            "account_key": _opaque(60),
            "public_key": _opaque(32),
            "private_key": _opaque(60),
        },
    )
    page = contexts.page("staff")
    logins: list[str] = []
    page.on(
        "request",
        lambda request: (
            logins.append(request.url) if request.url.endswith("/api/login") else None
        ),
    )
    sign_in(page, server, handle, "une phrase quelconque")
    wait_idle(page)
    expect(page.locator("#error")).to_have_attribute("data-code", "kdf_unsafe")
    expect(page.locator("body")).to_have_attribute("data-state", "login")
    # Refused before deriving, so no auth secret was ever sent.
    assert logins == []


def test_sign_in_with_a_record_the_server_altered_fails_cleanly(
    server: RunningServer, contexts: Contexts
) -> None:
    handle = fresh_handle("altered")
    code = add_user(server, handle, name="Altered")
    passphrase = "phrase secrète du compte"
    params = {
        "kdf": "argon2id",
        "m": 19456,
        "t": 2,
        "p": 1,
        "salt": b64url_encode(os.urandom(16)),
    }
    secret = run_async(accounts.derive_passphrase(passphrase, params))
    # The right auth secret, so the server lets the login through, but an
    # account key sealed by nobody: the browser must refuse to unlock it.
    public = b64url_encode(os.urandom(32))
    _activate_by_api(
        server,
        handle,
        code,
        {
            "kdf": params,
            "auth": b64url_encode(secret.auth_secret),
            "account_key": {"v": 1, "account_key": b64url_encode(os.urandom(60))},
            "public_key": {"keys": [{"suite": "x25519", "key": public}]},
            "private_key": {
                "keys": [
                    {
                        "suite": "x25519",
                        "key": public,
                        "private": b64url_encode(os.urandom(60)),
                    }
                ]
            },
        },
    )
    page = contexts.page("staff")
    sign_in(page, server, handle, passphrase)
    wait_idle(page)
    expect(page.locator("#error")).to_have_attribute("data-code", "record_damaged")
    expect(page.locator("body")).to_have_attribute("data-state", "login")


def _cli(server: RunningServer, *args: str, passphrase: str, tmp_path: Path) -> str:
    """Run ``sealpost`` as a staff member; returns its standard output."""
    secret = tmp_path / f"passphrase-{secrets.token_hex(4)}"
    secret.write_text(passphrase + "\n", encoding="utf-8")
    done = subprocess.run(
        [*CLI, *args, "--server", server.base_url, "--passphrase-file", str(secret)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_browser_and_cli_staff_exchange_hpke_shares(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    lea = new_staff(server, contexts.page("lea"), "lea", name="Léa")
    marc = new_staff(server, contexts.page("marc"), "marc", name="Marc")

    # The command line opens Léa's browser-made account and sends to the
    # key Marc's browser made.
    sent = make_file("depuis la ligne de commande.bin", os.urandom(90_000))
    _cli(
        server,
        "send",
        "--as",
        lea.handle,
        "--to",
        marc.handle,
        "-m",
        FRENCH_MESSAGE,
        str(sent),
        passphrase=lea.passphrase,
        tmp_path=tmp_path,
    )
    rows = inbox_items(marc.page)
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".sender")).to_contain_text(lea.handle)
    open_item(rows.first)
    assert item_message(marc.page) == FRENCH_MESSAGE
    saved = save_item_file(marc.page, 0, tmp_path / "browser")
    assert sha256_file(saved) == sha256_file(sent)

    # And it opens what Marc's browser sealed to Léa's key.
    answer = make_file("depuis le navigateur.bin", os.urandom(70_000))
    compose(marc.page, [lea.handle], [answer], "Réponse du navigateur")
    rows = inbox_items(lea.page)
    expect(rows).to_have_count(1)
    share_id = rows.first.get_attribute("data-share-id")
    assert share_id is not None
    out = tmp_path / "cli"
    _cli(
        server,
        "open",
        "--as",
        lea.handle,
        "-o",
        str(out),
        share_id,
        passphrase=lea.passphrase,
        tmp_path=tmp_path,
    )
    assert sha256_file(out / answer.name) == sha256_file(answer)


def test_signed_in_staff_can_still_send_a_plain_link_share(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    # The session cookie is sent with every same-origin request; the link
    # share page is anonymous and must work beside a signed-in /app.
    page = contexts.page("signed-in sender")
    new_staff(server, page, "lina", name="Lina Haddad")
    data = os.urandom(30_000)
    original = make_file("lien simple.bin", data)

    open_send_page(page, server.base_url)
    choose_files(page, [original])
    sent = send(page)
    receiver = contexts.page("outsider")
    open_receive_page(receiver, sent.link)
    _, saved = download(receiver, 0, tmp_path)

    assert saved.read_bytes() == data
