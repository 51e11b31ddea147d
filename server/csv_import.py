"""Reading the staff list a crisis cell exports from its spreadsheet.

The format, as docs/api-admin.md documents it: UTF-8 (a byte order mark is
fine; Windows-1252, what French spreadsheets save by default, is accepted
when the bytes are not UTF-8), a header row, ``;``, ``,`` or tab between
cells (chosen from the header line), quotes as in RFC 4180. Columns, in any
order and case, English or French: name/nom, department/service,
phone/téléphone (optional), role/rôle (optional: staff), handle/identifiant
(optional). Other columns are ignored; blank lines are skipped.

Each person's handle is the explicit handle, else one made from the name
(accents dropped, lowercase, words joined by dots: "Élise Martin" is
``elise.martin``). The handle is the person's identity: a row whose handle
is already in the file with the same values is a duplicate and skipped, with
other values it is an error. Any error refuses the whole file with its line
number, before anything is stored.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from server.credentials import HANDLE_MAX_CHARS, handle_key
from server.errors import BadRequest
from server.storage.accounts_base import Role

MAX_IMPORT_BYTES = 8 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
MAX_CELL_CHARS = 200
MAX_PHONE_CHARS = 40
_SEPARATORS = (";", ",", "\t")
_PHONE_CHARS = frozenset("0123456789 +-.()/")

# Header spellings, compared without accents or case.
_COLUMNS = {
    "name": "name",
    "nom": "name",
    "full name": "name",
    "nom complet": "name",
    "department": "department",
    "service": "department",
    "departement": "department",
    "phone": "phone",
    "telephone": "phone",
    "tel": "phone",
    "role": "role",
    "handle": "handle",
    "identifiant": "handle",
    "login": "handle",
}
_ROLES = {
    "staff": Role.STAFF,
    "personnel": Role.STAFF,
    "agent": Role.STAFF,
    "admin": Role.ADMIN,
    "administrator": Role.ADMIN,
    "administrateur": Role.ADMIN,
    "outsider": Role.OUTSIDER,
    "exterieur": Role.OUTSIDER,
    "externe": Role.OUTSIDER,
}


@dataclass(frozen=True)
class ImportRow:
    """One person of the file; ``line`` is where the row ends (1-based)."""

    line: int
    handle: str
    name: str
    department: str
    role: Role
    phone: str = ""


def _plain(text: str) -> str:
    """Lowercase ASCII-ish form: accents dropped, spaces squeezed."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.casefold().split())


def handle_from_name(name: str) -> str:
    """``"Élise Martin"`` → ``"elise.martin"``; letters of any script stay.

    Runs of anything that is not a letter, a digit or a hyphen become one
    dot; the result is cut to the handle length limit.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    out: list[str] = []
    for c in decomposed.casefold():
        if unicodedata.combining(c):
            continue
        if c.isalnum() or c == "-":
            out.append(c)
        elif out and out[-1] != ".":
            out.append(".")
    handle = "".join(out).strip(".-")[:HANDLE_MAX_CHARS].strip(".-")
    return unicodedata.normalize("NFC", handle)


def decode(body: bytes) -> str:
    """The file's text (see the module doc for the encodings accepted)."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="strict").lstrip("\ufeff")


def _separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _cell(line: int, column: str, value: str, limit: int = MAX_CELL_CHARS) -> str:
    text = " ".join(value.split())
    if len(text) > limit or not text.isprintable():
        raise BadRequest(
            f"line {line}: {column} must be printable and at most {limit} characters"
        )
    return text


def _header(line: int, cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        column = _COLUMNS.get(_plain(cell))
        if column is None:
            continue
        if column in found:
            raise BadRequest(f"line {line}: the column {column} appears twice")
        found[column] = index
    missing = [c for c in ("name", "department") if c not in found]
    if missing:
        raise BadRequest(
            f"line {line}: the header must name the columns name and department "
            f"(missing: {', '.join(missing)})"
        )
    return found


def _row(line: int, cells: list[str], columns: dict[str, int]) -> ImportRow:
    def get(column: str) -> str:
        index = columns.get(column)
        return cells[index] if index is not None and index < len(cells) else ""

    name = _cell(line, "name", get("name"))
    department = _cell(line, "department", get("department"))
    if not name:
        raise BadRequest(f"line {line}: the name is empty")
    if not department:
        raise BadRequest(f"line {line}: the department is empty")
    phone = _cell(line, "phone", get("phone"), MAX_PHONE_CHARS)
    if not set(phone) <= _PHONE_CHARS:
        raise BadRequest(f"line {line}: the phone number holds odd characters")
    role_text = _plain(get("role"))
    role = _ROLES.get(role_text or "staff")
    if role is None:
        raise BadRequest(f"line {line}: unknown role (use staff, admin or outsider)")
    handle = _cell(line, "handle", get("handle")) or handle_from_name(name)
    try:
        handle_key(handle)
    except BadRequest as exc:
        raise BadRequest(f"line {line}: no usable handle ({exc.message})") from None
    return ImportRow(line, handle, name, department, role, phone)


def parse(text: str) -> tuple[list[ImportRow], int]:
    """The people of a file, each handle once, in file order.

    :returns: the rows and how many duplicate rows were skipped.
    :raises BadRequest: the first problem, with its line number.
    """
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise BadRequest("the file is empty")
    separator = _separator(lines[first])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    columns: dict[str, int] | None = None
    rows: list[ImportRow] = []
    seen: dict[str, ImportRow] = {}
    duplicates = 0
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _header(reader.line_num, cells)
                continue
            row = _row(reader.line_num, cells, columns)
            key = handle_key(row.handle)
            earlier = seen.get(key)
            if earlier is None:
                if len(rows) >= MAX_IMPORT_ROWS:
                    raise BadRequest(f"a file holds at most {MAX_IMPORT_ROWS} people")
                seen[key] = row
                rows.append(row)
            elif (earlier.name, earlier.department, earlier.role) == (
                row.name,
                row.department,
                row.role,
            ):
                duplicates += 1
            else:
                raise BadRequest(
                    f"line {row.line}: the handle {row.handle} is already on line "
                    f"{earlier.line} with other values (add a handle column)"
                )
    except csv.Error:
        raise BadRequest(f"line {reader.line_num}: malformed CSV (quotes?)") from None
    if columns is None:
        raise BadRequest("the file has no header row")
    return rows, duplicates
