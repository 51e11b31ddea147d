"""CSV import of a staff list: encodings, separators, headers, duplicates,
idempotence, refusal of a malformed file with nothing created, and size."""

from __future__ import annotations

from pathlib import Path

import pytest
from account_support import make_box, site_for
from admin_support import activate, admin_get, audit, import_csv
from server_support import make_config

from server.administration import department_slug
from server.csv_import import handle_from_name
from server.storage.accounts_base import AccountFilter, Role

FRENCH = (
    "\ufeffNom;Service;Téléphone;Rôle\r\n"
    "Élise Martin;Cardiologie;+33 1 23 45 67 89;personnel\r\n"
    "\r\n"
    "François Ôtis;Radiologie;;Administrateur\r\n"
    "Zoë Dupont-Lefèvre;Cardiologie;;\r\n"
)


def test_handle_from_name_drops_accents_and_joins_words() -> None:
    assert handle_from_name("Élise Martin") == "elise.martin"
    assert handle_from_name("  Zoë  Dupont-Lefèvre ") == "zoe.dupont-lefevre"
    assert handle_from_name("Jean O'Brien") == "jean.o.brien"
    assert department_slug("Cardiologie, aile B") == "cardiologie-aile-b"


async def test_import_reads_bom_semicolons_accents_and_french_headers(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        response = await import_csv(admin, FRENCH)
    assert response.status_code == 200, response.text
    answer = response.json()
    created = {c["handle"]: c for c in answer["created"]}
    assert list(created) == ["elise.martin", "francois.otis", "zoe.dupont-lefevre"]
    assert created["elise.martin"]["name"] == "Élise Martin"
    assert created["elise.martin"]["phone"] == "+33 1 23 45 67 89"
    assert created["elise.martin"]["state"] == "pending"
    assert created["francois.otis"]["role"] == "admin"
    assert created["zoe.dupont-lefevre"]["role"] == "staff"
    assert all(len(c["code"]) == 17 for c in created.values())
    departments = {d["department"]: d for d in answer["departments"]}
    assert departments["Cardiologie"]["slug"] == "cardiologie"
    assert departments["Cardiologie"]["box"] is None
    assert set(departments["Cardiologie"]["members"]) == {
        created["elise.martin"]["id"],
        created["zoe.dupont-lefevre"]["id"],
    }


async def test_import_reads_commas_quotes_any_header_case_and_cp1252(
    tmp_path: Path,
) -> None:
    english = 'NAME,Department,PHONE,role,notes\n"Ana, Jr",Radiology,,staff,x\n'
    legacy = "nom;service\nHélène Côté;Urgences\n".encode("cp1252")
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        first = await import_csv(admin, english)
        second = await import_csv(admin, legacy)
    assert first.status_code == 200, first.text
    assert [c["name"] for c in first.json()["created"]] == ["Ana, Jr"]
    assert first.json()["created"][0]["handle"] == "ana.jr"
    assert second.status_code == 200, second.text
    assert second.json()["created"][0]["name"] == "Hélène Côté"


async def test_import_skips_blank_lines_and_duplicate_rows(tmp_path: Path) -> None:
    text = (
        "\n\nname;department\n\nAna Lima;ICU\n;\nAna Lima;ICU\n  ;  \nBo Chen;ICU\n\n"
    )
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        response = await import_csv(admin, text)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [c["handle"] for c in answer["created"]] == ["ana.lima", "bo.chen"]
    assert answer["duplicates"] == 1


async def test_import_twice_creates_nothing_new_and_first_codes_still_work(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        first = (await import_csv(admin, FRENCH)).json()
        again = await import_csv(admin, FRENCH)
        elise = first["created"][0]
        me = await activate(await site.client(), elise["handle"], elise["code"])
        created = await audit(admin, type="account.created")
    assert again.status_code == 200
    assert again.json()["created"] == []
    assert again.json()["existing"] == [c["handle"] for c in first["created"]]
    assert me["account"]["department"] == "Cardiologie"
    # chief, then the three people once.
    assert len(created) == 4


async def test_import_handle_column_tells_two_namesakes_apart(tmp_path: Path) -> None:
    text = (
        "name;department;handle\nAna Lima;ICU;ana.lima\nAna Lima;Pharmacy;ana.lima2\n"
    )
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        response = await import_csv(admin, text)
    assert [c["handle"] for c in response.json()["created"]] == [
        "ana.lima",
        "ana.lima2",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nom;service\nA B;X\nC D;\n", "line 3: the department is empty"),
        ("name,department,role\nA B,X,staff\n\nC D,X,chef\n", "line 4: unknown role"),
        (
            "name;department\nAna Lima;ICU\nBo Chen;ICU\nAna Lima;Pharmacy\n",
            "line 4: the handle ana.lima is already on line 2 with other values",
        ),
        ('name,department\nA B,X\n"C D,X\n', "line 3: malformed CSV"),
        ("nom;téléphone\nA B;1\n", "line 1: the header must name the columns"),
        ("name;department\nA B;X\n\x01;Y\n", "line 3: name must be printable"),
    ],
)
async def test_import_refuses_a_malformed_file_with_its_line_and_stores_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        response = await import_csv(admin, text)
        stored = await site.accounts.store.list_accounts(AccountFilter())
        events = await audit(admin, type="account.created")
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(message)
    assert [r.handle for r in stored] == ["chief"]
    assert len(events) == 1


async def test_import_adds_new_people_to_an_existing_department_box(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        box = await make_box(admin, "cardiologie", [admin])
        answer = (await import_csv(admin, FRENCH)).json()
        waiting = await admin_get(admin, "/api/admin/pending-grants")
    cardio = next(d for d in answer["departments"] if d["department"] == "Cardiologie")
    assert cardio["box"]["id"] == box["id"]
    assert len(cardio["added"]) == 2
    assert waiting["boxes"][0]["id"] == box["id"]
    assert waiting["boxes"][0]["waiting"] == 2
    assert waiting["boxes"][0]["ready"] == 0


async def test_import_of_ten_thousand_rows(tmp_path: Path) -> None:
    lines = ["nom;service;téléphone;rôle"] + [
        f"Agent Numéro{i};Service {i % 30};+33 6 00 {i:05d};staff"
        for i in range(10_000)
    ]
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        response = await import_csv(admin, "\n".join(lines) + "\n")
        stored = await site.accounts.store.list_accounts(AccountFilter(limit=20_000))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert len(answer["created"]) == 10_000
    assert len({c["code"] for c in answer["created"]}) == 10_000
    assert len(answer["departments"]) == 30
    assert len(stored) == 10_001


async def test_import_needs_an_administrator_and_its_csrf_token(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        staff = await site.user("ana")
        admin = await site.user("chief", role=Role.ADMIN)
        as_staff = await import_csv(staff, FRENCH)
        no_csrf = await admin.client.post("/api/admin/import", content=FRENCH)
    assert as_staff.status_code == 403
    assert no_csrf.status_code == 403
    assert no_csrf.json()["error"] == "csrf_failed"
