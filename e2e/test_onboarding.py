"""Journey: crisis onboarding without email. The first administrator from
``sealpost admin init`` imports a French spreadsheet in the browser (which
makes the departmental boxes), prints the activation sheets, a person
activates from the sheet's link, the administrator grants box access in one
action, and an outsider's deposit opens for the new member."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from adminpages import (
    account_action,
    account_row,
    code_on_sheet,
    grant_all,
    import_csv,
    init_admin,
    open_admin,
    sheet,
)
from boxpages import deposit, deposit_link, open_boxes, open_deposit_page
from browsing import Contexts
from pages import sha256_file
from playwright.sync_api import Page, expect
from serverproc import ROOT, RunningServer, start_server, stop_server
from staff import (
    CLI,
    UNLOCK_TIMEOUT_MS,
    fresh_handle,
    keep_recovery_code,
    new_staff,
    open_app,
    sign_in,
    signed_in,
    wait_idle,
)
from staffmail import inbox_items, item_message, open_item, save_item_file

pytestmark = pytest.mark.browser

# A spreadsheet saved by a French office suite: byte order mark, `;`
# separators, accents, an empty line and a repeated row.
FRENCH_CSV = (
    "\ufeffNom;Service;Téléphone;Rôle\r\n"
    "Élise Martin;Cardiologie, aile B;06 12 34 56 78;personnel\r\n"
    "Jean-Pierre O'Brien;Cardiologie, aile B;;\r\n"
    ";;;\r\n"
    "Zoé Ndiaye;Urgences;;agent\r\n"
    "Élise Martin;Cardiologie, aile B;06 12 34 56 78;personnel\r\n"
)
PEOPLE = ["elise.martin", "jean-pierre.o.brien", "zoe.ndiaye"]
#: A page break in Chromium's PDF output: one page object per printed page.
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


@pytest.fixture(scope="module")
def onboarding_server(tmp_root: Path) -> Iterator[RunningServer]:
    """An empty server of its own: ``admin init`` needs one."""
    running = start_server(tmp_root, "onboarding", {})
    yield running
    stop_server(running)


def _refused_activation(
    page: Page, server: RunningServer, handle: str, code: str
) -> None:
    open_app(page, server)
    page.click("#show-activate")
    page.fill("#activate-handle", handle)
    page.fill("#activate-code", code)
    page.click("#activate-check")
    wait_idle(page)
    expect(page.locator("#error")).to_have_attribute("data-code", "activation_failed")
    expect(page.locator("#activate-pass-form")).to_be_hidden()


def test_onboarding_from_csv_to_a_deposit_opened_by_the_new_member(
    onboarding_server: RunningServer,
    contexts: Contexts,
    tmp_path: Path,
    make_file: Callable[[str, bytes], Path],
) -> None:
    server = onboarding_server
    admin = init_admin(server, contexts.page("admin"), name="Chloé Cellule")
    page = admin.page

    # A malformed file: its line is named and nothing is created.
    bad = tmp_path / "mauvais.csv"
    bad.write_text("nom;service\nAnne Duval;Urgences\n;Urgences\n", encoding="utf-8")
    import_csv(page, bad)
    expect(page.locator("#admin-import-error")).to_contain_text("line 3:")
    expect(page.locator("#admin-accounts tbody tr")).to_have_count(1)

    good = tmp_path / "personnel.csv"
    good.write_bytes(FRENCH_CSV.encode("utf-8"))
    import_csv(page, good)
    expect(page.locator("#admin-import-error")).to_be_hidden()
    summary = page.locator("#admin-import-summary")
    expect(summary).to_contain_text("3 account(s) created")
    expect(summary).to_contain_text("1 duplicate row(s)")
    expect(summary).to_contain_text("2 box(es) created")
    expect(page.locator("#admin-codes tbody tr")).to_have_count(3)
    expect(account_row(page, "elise.martin")).to_have_attribute("data-state", "pending")
    expect(page.locator("#admin-waiting")).to_contain_text("3 member(s) waiting")
    expect(page.locator("#admin-grant-all")).to_be_disabled()

    # The sheets, as the print dialog would print them: one page a person,
    # or one sheet per department.
    for handle in PEOPLE:
        expect(sheet(page, handle).locator(".sheet-code")).not_to_be_empty()
    pdf = page.pdf(format="A4", print_background=True)
    assert len(_PAGE_OBJECT.findall(pdf)) == len(PEOPLE)
    (tmp_path / "people.pdf").write_bytes(pdf)
    page.select_option("#admin-sheet-layout", "department")
    pdf = page.pdf(format="A4", print_background=True)
    (tmp_path / "departments.pdf").write_bytes(pdf)
    assert len(_PAGE_OBJECT.findall(pdf)) == 2

    # Élise scans her sheet: the activation view fills itself and the code
    # leaves the address bar.
    code = code_on_sheet(page, "elise.martin")
    link = sheet(page, "elise.martin").get_attribute("data-link")
    assert link == server.url(f"/app#activate=elise.martin:{code}")
    elise = contexts.page("elise", locale="fr-FR")
    elise.goto(link)
    expect(elise.locator("#view-activate")).to_be_visible()
    expect(elise.locator("#activate-handle")).to_have_value("elise.martin")
    expect(elise.locator("#activate-code")).to_have_value(code)
    assert "#" not in elise.url
    elise.click("#activate-check")
    wait_idle(elise)
    passphrase = "phrase secrète d'Élise 2026"
    elise.fill("#activate-pass1", passphrase)
    elise.fill("#activate-pass2", passphrase)
    elise.click("#activate-submit")
    keep_recovery_code(elise)

    # The printed code worked once: used again it is refused.
    _refused_activation(contexts.page("again"), server, "elise.martin", code)

    # A new code for Zoé: the one on her first sheet stops working.
    old = code_on_sheet(page, "zoe.ndiaye")
    account_action(page, "zoe.ndiaye", "code")
    assert code_on_sheet(page, "zoe.ndiaye") != old
    _refused_activation(contexts.page("zoe"), server, "zoe.ndiaye", old)

    # One activated member waits for the Cardiologie box: "grant all".
    open_admin(page)
    expect(page.locator("#admin-waiting")).to_contain_text("1 of them")
    expect(page.locator("#admin-waiting-list li.waiting-member")).to_have_text(
        [re.compile(r"elise\.martin.*(\d{4} ){7}\d{4}$")]
    )
    assert "1 member(s) got box access" in grant_all(page)
    expect(page.locator("#admin-waiting")).to_contain_text("2 member(s) waiting")

    # An outsider deposits into the department's box; Élise opens it.
    open_boxes(page)
    link = deposit_link(page, "cardiologie-aile-b")
    outsider = contexts.page("outsider", locale="fr-FR")
    open_deposit_page(outsider, link)
    sent = make_file("compte-rendu échographie.pdf", os.urandom(120_000))
    deposit(outsider, [sent], "Résultats pour le service, à lire ce matin.")
    open_boxes(elise)
    box_id = page.locator("#box-list .box[data-slug='cardiologie-aile-b']")
    rows = inbox_items(elise, box_id.get_attribute("data-box-id"))
    expect(rows).to_have_count(1)
    open_item(rows.first)
    assert item_message(elise) == "Résultats pour le service, à lire ce matin."
    saved = save_item_file(elise, 0, tmp_path / "elise")
    assert sha256_file(saved) == sha256_file(sent)

    # Disabled, Élise cannot log in (the same answer as a wrong passphrase).
    account_action(page, "elise.martin", "disable")
    expect(account_row(page, "elise.martin")).to_have_attribute(
        "data-state", "disabled"
    )
    locked = contexts.page("locked")
    sign_in(locked, server, "elise.martin", passphrase)
    expect(locked.locator("#error")).to_have_attribute(
        "data-code", "login_failed", timeout=UNLOCK_TIMEOUT_MS
    )
    account_action(page, "elise.martin", "enable")
    expect(account_row(page, "elise.martin")).to_have_attribute("data-state", "active")

    # The audit log shows each step; its CSV export holds no content.
    open_admin(page)
    link = page.locator("#audit-csv").get_attribute("href")
    assert link is not None
    text = page.request.get(server.url(link)).text()
    for kind in (
        "accounts.imported",
        "box.created",
        "account.activated",
        "account.code_reissued",
        "box.member_granted",
        "share.created",
        "share.claimed",
        "account.disabled",
        "account.enabled",
    ):
        assert f",{kind}," in text, kind
    for secret in (
        "compte-rendu",
        "Résultats",
        "Élise",
        "Cardiologie",
        code,
        passphrase,
    ):
        assert secret not in text, secret


def test_self_service_request_approved_after_comparing_fingerprints(
    server: RunningServer, contexts: Contexts
) -> None:
    admin = new_staff(
        server, contexts.page("admin"), "amel", name="Amel Admin", role="admin"
    )
    handle = fresh_handle("noe")
    passphrase = f"phrase de Noé {secrets.token_hex(6)}"
    person = contexts.page("noe", locale="fr-FR")
    person.goto(server.url("/app#request"))
    expect(person.locator("#view-request")).to_be_visible()
    assert "#" not in person.url
    person.fill("#request-name", "Noé Lefèvre")
    expect(person.locator("#request-handle")).to_have_value("noe.lefevre")
    person.fill("#request-handle", handle)
    person.fill("#request-department", "Pédiatrie")
    person.fill("#request-pass1", passphrase)
    person.fill("#request-pass2", passphrase)
    person.click("#request-submit")
    wait_idle(person)
    expect(person.locator("#request-sent")).to_be_visible()
    spoken = person.locator("#request-fingerprint").inner_text()
    assert re.fullmatch(r"(\d{4} ){7}\d{4}", spoken)

    # Not approved yet: no login.
    early = contexts.page("early")
    sign_in(early, server, handle, passphrase)
    expect(early.locator("#error")).to_have_attribute(
        "data-code", "login_failed", timeout=UNLOCK_TIMEOUT_MS
    )

    open_admin(admin.page)
    row = admin.page.locator(f"#admin-requests li.request[data-handle='{handle}']")
    expect(row.locator(".fingerprint")).to_have_text(spoken)
    row.locator("button[data-decision='approve']").click()
    wait_idle(admin.page)
    expect(row).to_have_count(0)
    expect(account_row(admin.page, handle)).to_have_attribute("data-state", "active")

    sign_in(person, server, handle, passphrase)
    signed_in(person)
    assert person.locator("#me-fingerprint").inner_text() == spoken


def _code_valid(server: RunningServer, handle: str, code: str) -> bool:
    with server.client() as client:
        answer = client.post(
            "/api/activate/start", json={"handle": handle, "code": code}
        )
    return answer.status_code == 200


def test_expired_activation_code_is_refused_clearly(
    server: RunningServer, contexts: Contexts
) -> None:
    handle = fresh_handle("yann")
    # A code valid for one second, made by the same CLI on the data folder.
    done = subprocess.run(
        [
            *CLI,
            "admin",
            "add-user",
            "--data",
            str(server.data_dir),
            "--handle",
            handle,
            "--name",
            "Yann Expiré",
        ],
        cwd=ROOT,
        env={**os.environ, "SEALPOST_ACTIVATION_SECONDS": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"^Activation code: (\S+)$", done.stdout, re.MULTILINE)
    assert found is not None, done.stdout
    code = found.group(1)
    # Wait on the server's own verdict, not on a clock: the condition is
    # that the code has expired there.
    while _code_valid(server, handle, code):
        time.sleep(0.2)  # polling interval of a condition wait
    page = contexts.page("yann", locale="fr-FR")
    _refused_activation(page, server, handle, code)
    expect(page.locator("#error")).to_contain_text("expiré")
