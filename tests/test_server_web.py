"""Pages, assets, the Pyodide runtime and the headers on every response."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from server_support import (
    PYODIDE_DIR,
    QRCODE_DIR,
    WEB_FILES,
    client_for,
    make_config,
    make_web_tree,
    ready_share,
    ticket,
)

from server.config import Config
from server.web import CSP, IMMUTABLE, tree_hash

PYODIDE = "/pyodide/314.0.7"


def web_config(tmp_path: Path) -> Config:
    return make_config(
        tmp_path,
        web_dir=make_web_tree(tmp_path),
        pyodide_dir=PYODIDE_DIR,
        qrcode_dir=QRCODE_DIR,
    )


async def assets_url(client: httpx.AsyncClient) -> str:
    """The asset prefix the send page names."""
    page = (await client.get("/")).text
    start = page.index("/assets/")
    return page[start : page.index("/js/a.js")]


async def test_pages_fill_in_the_asset_and_runtime_urls(tmp_path: Path) -> None:
    config = web_config(tmp_path)
    async with client_for(config) as client:
        send = await client.get("/")
        receive = await client.get("/s/AAAAAAAAAAAAAAAAAAAAAA")
        manage = await client.get("/m/AAAAAAAAAAAAAAAAAAAAAA")
    prefix = f"/assets/{tree_hash(config)}"
    assert send.text == f"<html>send {prefix}/js/a.js {PYODIDE}/pyodide.mjs</html>"
    assert receive.text == f"<html>receive {prefix} {PYODIDE}</html>"
    assert manage.text == f"<html>manage {prefix}</html>"
    for page in (send, receive, manage):
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["content-type"] == "text/html; charset=utf-8"


async def test_every_response_carries_the_security_headers(tmp_path: Path) -> None:
    async with client_for(web_config(tmp_path)) as client:
        prefix = await assets_url(client)
        sent = await ready_share(client, [10])
        header = await ticket(client, sent)
        responses = [
            await client.get("/"),
            await client.get("/api/config"),
            await client.get("/nothing"),
            await client.get(f"{prefix}/js/app.js"),
            await client.get(f"{PYODIDE}/pyodide.mjs"),
            await client.get(sent.base),
            await client.get("/api/shares/AAAAAAAAAAAAAAAAAAAAAA"),
        ]
        blob = await client.get(f"{sent.base}/files/0", headers=header)
    for response in [*responses, blob]:
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cross-origin-opener-policy"] == "same-origin"
        assert "camera=()" in response.headers["permissions-policy"]
    for response in responses:
        assert response.headers["content-security-policy"] == CSP
    assert blob.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert blob.headers["content-disposition"] == "attachment"


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("css/site.css", "text/css; charset=utf-8"),
        ("i18n/en.json", "application/json"),
        ("py/bridge.py", "text/x-python; charset=utf-8"),
        ("build/pyodide-lock.json", "application/json"),
        ("build/pyodide_crypto-0.1.0-py3-none-any.whl", "application/zip"),
        ("vendor/qrcode.mjs", "text/javascript; charset=utf-8"),
    ],
)
async def test_assets_are_immutable_under_the_current_hash(
    tmp_path: Path, path: str, media_type: str
) -> None:
    config = web_config(tmp_path)
    async with client_for(config) as client:
        prefix = await assets_url(client)
        response = await client.get(f"{prefix}/{path}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == IMMUTABLE
    if path == "vendor/qrcode.mjs":
        assert response.content == (QRCODE_DIR / "qrcode.mjs").read_bytes()
    else:
        assert response.content == (config.web_dir / path).read_bytes()


async def test_assets_under_another_hash_or_outside_the_tree_are_404(
    tmp_path: Path,
) -> None:
    (tmp_path / "secret.txt").write_text("outside")
    async with client_for(web_config(tmp_path)) as client:
        prefix = await assets_url(client)
        answers = [
            await client.get("/assets/0123456789abcdef/js/app.js"),
            await client.get(f"{prefix}/js/missing.js"),
            await client.get(f"{prefix}/../secret.txt"),
            await client.get(f"{prefix}/%2e%2e/secret.txt"),
            await client.get(f"{prefix}/js"),
        ]
    for response in answers:
        assert response.status_code == 404
        assert "outside" not in response.text
        assert "immutable" not in response.headers.get("cache-control", "")


async def test_tree_hash_changes_with_any_client_file(tmp_path: Path) -> None:
    config = web_config(tmp_path)
    before = tree_hash(config)
    (config.web_dir / "build" / "pyodide-lock.json").write_text('{"packages": 1}')
    after_build = tree_hash(config)
    (config.web_dir / "js" / "app.js").write_text("changed")
    assert len({before, after_build, tree_hash(config)}) == 3


async def test_text_is_gzipped_and_binaries_are_not(tmp_path: Path) -> None:
    async with client_for(web_config(tmp_path)) as client:
        prefix = await assets_url(client)
        gz = {"Accept-Encoding": "gzip"}
        script = await client.get(f"{prefix}/js/app.js", headers=gz)
        wasm = await client.get(f"{PYODIDE}/pyodide.asm.wasm", headers=gz)
        plain = await client.get(
            f"{prefix}/js/app.js", headers={"Accept-Encoding": "identity"}
        )
    assert script.headers["content-encoding"] == "gzip"
    assert script.content == WEB_FILES["js/app.js"].encode()  # httpx decoded it
    assert int(script.headers["content-length"]) < len(script.content)
    assert "content-encoding" not in wasm.headers
    assert "content-encoding" not in plain.headers


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("pyodide.mjs", "text/javascript; charset=utf-8"),
        ("pyodide.asm.mjs", "text/javascript; charset=utf-8"),
        ("pyodide.asm.wasm", "application/wasm"),
        ("python_stdlib.zip", "application/zip"),
        ("pyodide-lock.json", "application/json"),
    ],
)
async def test_pyodide_runtime_files(
    tmp_path: Path, name: str, media_type: str
) -> None:
    if not (PYODIDE_DIR / name).is_file():
        pytest.fail(f"node_modules/pyodide/{name} is missing; run npm ci")
    async with client_for(web_config(tmp_path)) as client:
        response = await client.get(f"{PYODIDE}/{name}")
        other = await client.get(f"/pyodide/0.0.1/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.content == (PYODIDE_DIR / name).read_bytes()
    assert other.status_code == 404


async def test_pyodide_refuses_unknown_files_and_paths(tmp_path: Path) -> None:
    async with client_for(web_config(tmp_path)) as client:
        answers = [
            await client.get(f"{PYODIDE}/package.json.missing"),
            await client.get(f"{PYODIDE}/../pyodide/README.md"),
            await client.get(f"{PYODIDE}/README.md"),
        ]
    assert [r.status_code for r in answers] == [404, 404, 404]


async def test_service_worker_is_served_at_the_root(tmp_path: Path) -> None:
    async with client_for(web_config(tmp_path)) as client:
        response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.text == WEB_FILES["js/sw.js"]
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_download_paths_that_reach_the_server_get_a_clear_page(
    tmp_path: Path,
) -> None:
    async with client_for(web_config(tmp_path)) as client:
        response = await client.get("/download/abc123")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "only works in the tab" in response.text


async def test_missing_page_is_a_clear_error(tmp_path: Path) -> None:
    config = web_config(tmp_path)
    (config.web_dir / "manage.html").unlink()
    async with client_for(config) as client:
        response = await client.get("/m/AAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 500
    assert "missing" in response.text


async def test_startup_builds_the_client_wheel(tmp_path: Path) -> None:
    web_dir = make_web_tree(tmp_path)
    config = make_config(
        tmp_path,
        web_dir=web_dir,
        build_dir=tmp_path / "fresh-build",
        build_client=True,
    )
    async with client_for(config) as client:
        prefix = await assets_url(client)
        lock = await client.get(f"{prefix}/build/pyodide-lock.json")
    assert lock.status_code == 200
    assert "pyodide-crypto" in lock.text
    assert list((tmp_path / "fresh-build").glob("pyodide_crypto-*.whl"))
