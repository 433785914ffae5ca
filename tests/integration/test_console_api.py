"""The console over real HTTP (uvicorn) on SQLite and PostgreSQL: the login wall, roles, CSRF, the
contract's routes, the audit trail, search and downloads, on published runs of a world whose
names carry hostile text."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from console_harness import PASSWORDS, Published, csrf_of, login, publish_two_runs, serve_console
from openpyxl import load_workbook
from sqlalchemy.engine import make_url

from pipeline.errors import StoreError
from pipeline.ops.export import CSV_COLUMNS
from pipeline.store.access import AccessStore
from pipeline.store.history import child_key


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def published(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Published]:
    """Two published runs on each backend, shared by the module (the tests only read them, or add
    their own users and audit lines)."""
    tmp = tmp_path_factory.mktemp("console")
    if request.param == "sqlite":
        yield publish_two_runs(f"sqlite:///{tmp / 'store.sqlite3'}", tmp)
        return
    pg_admin_engine: sa.Engine = request.getfixturevalue("pg_admin_engine")  # skips when PostgreSQL is down
    name = f"reunify_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(str(pg_admin_engine.url)).set(database=name).render_as_string(hide_password=False)
    try:
        p = publish_two_runs(url, tmp)
        yield p
        p.store.close()
    finally:
        with pg_admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def base(published: Published) -> Iterator[str]:
    with serve_console(published.settings, published.store) as url:
        yield url


def _names(rows: list[dict[str, Any]]) -> set[str]:
    out = set()
    for r in rows:
        for name in (r.get("name"), (r.get("parent") or {}).get("name")):
            if name and len(name) > 6:
                out.add(name)
    return out


def test_healthz_answers_without_a_login(base: str) -> None:
    r = requests.get(f"{base}/healthz", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/summary", "/api/children/ORR-0000001", "/api/audit", "/api/progress"])
def test_an_api_call_without_a_login_is_401(base: str, path: str) -> None:
    assert requests.get(f"{base}{path}", timeout=10).status_code == 401


@pytest.mark.parametrize("path", ["/", "/children", "/runs", "/audit", "/report"])
def test_a_page_without_a_login_redirects_to_the_login_page(base: str, path: str) -> None:
    r = requests.get(f"{base}{path}", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_summary_equals_the_export(base: str, published: Published) -> None:
    rows = published.export()
    got = login(base, "vera").get(f"{base}/api/summary", timeout=10).json()
    assert got["run_id"] == published.second
    assert got["as_of"] == published.settings.as_of.isoformat()
    assert got["children"] == len(rows)
    statuses = Counter(r["status"] for r in rows)
    assert {s: n for s, n in got["by_status"].items() if n} == dict(statuses)
    cells = Counter((r["cohort"], r["status"]) for r in rows)
    assert {(c, s): n for c, by in got["by_cohort_status"].items() for s, n in by.items() if n} == dict(cells)
    assert got["unresolved_locations"] == sum(not r["parent_location"]["resolved"] for r in rows)
    assert got["needs_review"] == sum(bool(r["needs_review"]) for r in rows)
    by_cohort = {d["cohort"]: d for d in got["deadlines"]}
    for cohort in ("under_5", "5_and_over"):
        mine = [r for r in rows if r["cohort"] == cohort]
        assert by_cohort[cohort]["children"] == len(mine)
        assert by_cohort[cohort]["not_reunified"] == sum(r["status"] != "reunified" for r in mine)


def test_a_viewer_gets_403_from_personal_data_and_sees_no_name(base: str, published: Published) -> None:
    http = login(base, "vera")
    rid = published.export()[0]["child_record_ids"][0]
    for path in (
        f"/api/children/{rid}",
        "/api/children",
        "/api/audit",
        f"/children/{rid}",
        "/children",
        "/audit",
    ):
        assert http.get(f"{base}{path}", timeout=10).status_code == 403, path
    assert http.post(f"{base}/children", data={"csrf_token": "x"}, timeout=10).status_code == 403
    names = _names(published.export()) | _names(published.export(published.first))
    assert names
    for path in (
        "/",
        "/runs",
        f"/runs/{published.second}",
        f"/runs/compare?a={published.first}&b={published.second}",
        "/report",
        "/api/summary",
        "/api/progress",
        "/api/runs",
    ):
        page = http.get(f"{base}{path}", timeout=10)
        assert page.status_code == 200, path
        shown = [n for n in names if n in page.text or json.dumps(n)[1:-1] in page.text]
        assert not shown, (path, shown[:3])


def test_a_child_is_its_export_object_with_its_story_and_the_read_is_audited(
    base: str, published: Published
) -> None:
    row = next(r for r in published.export() if r.get("parent"))
    rid = row["child_record_ids"][-1]
    got = login(base, "carl").get(f"{base}/api/children/{rid}", timeout=10).json()
    story = got.pop("story")
    assert got == row
    assert story["records"] and story["records"][0]["feed"] == "orr"
    assert story["candidates"][0]["role"] == "linked parent"
    assert [h["run_id"] for h in story["history"]][-1] == published.second
    trail = login(base, "ada").get(f"{base}/api/audit", params={"user": "carl"}, timeout=10).json()
    mine = [e for e in trail if e["action"] == "view_child" and e["route"] == f"/api/children/{rid}"]
    assert mine and mine[0]["child_record_ids"] == row["child_record_ids"]
    assert set(mine[0]) >= {"who", "at", "route", "child_record_ids"}
    assert row["name"] not in json.dumps(trail, ensure_ascii=False)


def test_an_unknown_child_is_404(base: str) -> None:
    assert login(base, "carl").get(f"{base}/api/children/ORR-9999999", timeout=10).status_code == 404


def test_every_page_read_of_personal_data_is_on_the_audit_trail(base: str, published: Published) -> None:
    http = login(base, "carl")
    rid = published.export()[3]["child_record_ids"][0]
    http.get(f"{base}/children/{rid}", timeout=10)
    page = http.get(f"{base}/children", timeout=10)
    shown = sorted(set(re.findall(r'data-child="([^"]+)"', page.text)))
    trail = login(base, "ada").get(f"{base}/api/audit", params={"user": "carl"}, timeout=10).json()
    assert any(e["route"] == f"/children/{rid}" and rid in e["child_record_ids"] for e in trail)
    listed = next(e for e in trail if e["action"] == "list_children" and e["route"] == "/children")
    assert sorted(listed["child_record_ids"]) == shown


def test_a_post_without_the_csrf_token_is_refused(base: str) -> None:
    http = login(base, "carl")
    assert http.post(f"{base}/children", data={"status": "eligible"}, timeout=10).status_code == 403
    assert (
        http.post(
            f"{base}/children", data={"status": "eligible", "csrf_token": "forged"}, timeout=10
        ).status_code
        == 403
    )
    token = csrf_of(http.get(f"{base}/children", timeout=10).text)
    ok = http.post(f"{base}/children", data={"status": "eligible", "csrf_token": token}, timeout=10)
    assert ok.status_code == 200 and 'data-status="eligible"' in ok.text


def test_a_login_without_the_login_forms_token_is_refused(base: str) -> None:
    r = requests.post(f"{base}/login", data={"username": "ada", "password": PASSWORDS["ada"]}, timeout=10)
    assert r.status_code == 403 and "reunify_session" not in r.cookies


def test_the_session_cookie_is_httponly_and_samesite_strict(base: str) -> None:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10)
    r = http.post(
        f"{base}/login",
        data={"username": "carl", "password": PASSWORDS["carl"], "csrf_token": csrf_of(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    cookie = r.headers["set-cookie"].lower()
    assert "reunify_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_repeated_wrong_passwords_lock_the_account(base: str, published: Published) -> None:
    from pipeline.web.accounts import add_user

    add_user(AccessStore(published.store), "locky", "viewer", "locky-password-1")
    for _ in range(published.settings.web_max_failed_logins):
        http = requests.Session()
        page = http.get(f"{base}/login", timeout=10)
        bad = http.post(
            f"{base}/login",
            data={"username": "locky", "password": "wrong-password!", "csrf_token": csrf_of(page.text)},
        )
        assert bad.status_code == 401
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10)
    right = http.post(
        f"{base}/login",
        data={"username": "locky", "password": "locky-password-1", "csrf_token": csrf_of(page.text)},
    )
    assert right.status_code == 401 and "locked" in right.text


def test_logout_ends_the_session(base: str) -> None:
    http = login(base, "carl")
    token = csrf_of(http.get(f"{base}/", timeout=10).text)
    http.post(f"{base}/logout", data={"csrf_token": token}, headers={"Origin": base}, timeout=10)
    assert http.get(f"{base}/api/summary", timeout=10).status_code == 401


def test_a_browser_logout_without_the_token_is_refused(base: str) -> None:
    http = login(base, "carl")
    r = http.post(f"{base}/logout", data={}, headers={"Origin": "http://evil.example"}, timeout=10)
    assert r.status_code == 403
    assert http.get(f"{base}/api/summary", timeout=10).status_code == 200


def test_search_finds_a_child_by_name_without_accents_and_by_a_number(
    base: str, published: Published
) -> None:
    rows = published.export()
    row = next(r for r in rows if r.get("a_number") and r.get("name") and "<" not in r["name"])
    http = login(base, "carl")
    token = csrf_of(http.get(f"{base}/children", timeout=10).text)
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", row["name"]) if not unicodedata.combining(c)
    ).lower()
    for term in (plain, f"A-{row['a_number'][:3]}-{row['a_number'][3:6]}-{row['a_number'][6:]}"):
        page = http.post(f"{base}/children", data={"q": term, "csrf_token": token}, timeout=10)
        assert page.status_code == 200
        assert f'data-child="{child_key(row)}"' in page.text, term
    trail = login(base, "ada").get(f"{base}/api/audit", params={"user": "carl"}, timeout=10).json()
    assert plain not in json.dumps(trail).lower()


def test_filters_narrow_the_children_to_the_exports_rows(base: str, published: Published) -> None:
    rows = published.export()
    http = login(base, "carl")
    want = sorted(
        child_key(r) for r in rows if r["status"] == "parent_removed" and not r["parent_location"]["resolved"]
    )
    got = http.get(
        f"{base}/api/children",
        params={"status": "parent_removed", "unresolved": "true", "limit": 500},
        timeout=10,
    ).json()
    assert got["total"] == len(want)
    assert sorted(child_key(c) for c in got["children"]) == want


def test_downloads_hold_the_filtered_rows_and_never_a_formula(base: str, published: Published) -> None:
    rows = [r for r in published.export() if r["cohort"] == "5_and_over"]
    http = login(base, "carl")
    token = csrf_of(http.get(f"{base}/children", timeout=10).text)
    got = http.post(
        f"{base}/children/download", data={"cohort": "5_and_over", "format": "csv", "csrf_token": token}
    )
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert tuple(table[0]) == CSV_COLUMNS and len(table) == len(rows)
    assert not [c for t in table for c in t.values() if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    xlsx = http.post(
        f"{base}/children/download", data={"cohort": "5_and_over", "format": "xlsx", "csrf_token": token}
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == len(rows) + 1
    cells = [c for row in values for c in row if isinstance(c, str)]
    assert any(c.startswith("=") for c in cells), "a hostile name should reach the sheet as text"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_every_response_carries_a_csp_without_inline_scripts(base: str) -> None:
    http = login(base, "carl")
    for path in ("/", "/children", "/api/summary"):
        csp = http.get(f"{base}{path}", timeout=10).headers["content-security-policy"]
        assert (
            "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
        )
    assert "<script>" not in http.get(f"{base}/", timeout=10).text.replace(
        '<script src="/static/console.js" defer></script>', ""
    )


def test_the_audit_trail_refuses_updates_and_deletes(published: Published) -> None:
    store = published.store
    with pytest.raises(StoreError, match="append-only"), store._write("tampering") as conn:
        conn.execute(sa.text("UPDATE audit_log SET username = 'nobody'"))
    with pytest.raises(StoreError, match="append-only"), store._write("tampering") as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))


def test_a_disabled_user_is_logged_out_at_once(base: str, published: Published) -> None:
    from pipeline.web.accounts import add_user

    access = AccessStore(published.store)
    add_user(access, "dora", "caseworker", "dora-password-1")
    http = login(base, "dora", "dora-password-1")
    assert http.get(f"{base}/api/summary", timeout=10).status_code == 200
    access.update_user("dora", disabled=True)
    assert http.get(f"{base}/api/summary", timeout=10).status_code == 401


def test_an_admin_adds_a_user_on_the_users_page_who_can_then_log_in(base: str, published: Published) -> None:
    admin = login(base, "ada")
    page = admin.get(f"{base}/users", timeout=10)
    assert page.status_code == 200 and 'data-user="carl"' in page.text
    added = admin.post(
        f"{base}/users",
        data={
            "name": "eve",
            "role": "caseworker",
            "password": "eve-password-01",
            "csrf_token": csrf_of(page.text),
        },
        timeout=10,
    )
    assert added.status_code == 200 and "added eve (caseworker)" in added.text
    assert "eve-password-01" not in added.text
    assert login(base, "eve", "eve-password-01").get(f"{base}/children", timeout=10).status_code == 200
    entries = AccessStore(published.store).list_audit(username="ada", limit=50)
    assert any(e.action == "user_add" and e.detail == "eve as caseworker" for e in entries)
    assert all("eve-password-01" not in e.detail for e in entries)


def test_an_admin_disables_a_user_on_the_users_page_and_their_session_ends(
    base: str, published: Published
) -> None:
    from pipeline.web.accounts import add_user

    add_user(AccessStore(published.store), "finn", "viewer", "finn-password-1")
    finn = login(base, "finn", "finn-password-1")
    admin = login(base, "ada")
    token = csrf_of(admin.get(f"{base}/users", timeout=10).text)
    done = admin.post(
        f"{base}/users/change", data={"name": "finn", "change": "disable", "csrf_token": token}, timeout=10
    )
    assert done.status_code == 200 and "finn disabled" in done.text
    assert finn.get(f"{base}/api/summary", timeout=10).status_code == 401
    assert re.search(r'data-user="finn">.*?class="state disabled"', done.text, re.S)


@pytest.mark.parametrize("name", ["vera", "carl"])
def test_the_users_page_is_for_admins_only(base: str, name: str) -> None:
    http = login(base, name)
    assert http.get(f"{base}/users", timeout=10).status_code == 403
    token = csrf_of(http.get(f"{base}/", timeout=10).text)
    refused = http.post(
        f"{base}/users",
        data={"name": "mallory", "role": "admin", "password": "mallory-password", "csrf_token": token},
        timeout=10,
    )
    assert refused.status_code == 403


def test_a_user_change_without_the_csrf_token_is_refused(base: str, published: Published) -> None:
    admin = login(base, "ada")
    refused = admin.post(f"{base}/users/change", data={"name": "carl", "change": "disable"}, timeout=10)
    assert refused.status_code == 403
    carl = AccessStore(published.store).get_user("carl")
    assert carl is not None and not carl.disabled


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(base: str, published: Published) -> None:
    admin = login(base, "ada")
    token = csrf_of(admin.get(f"{base}/users", timeout=10).text)
    for data in ({"change": "set-role", "role": "viewer"}, {"change": "disable"}):
        refused = admin.post(
            f"{base}/users/change", data=data | {"name": "ada", "csrf_token": token}, timeout=10
        )
        assert refused.status_code == 400 and "last active admin" in refused.text
    ada = AccessStore(published.store).get_user("ada")
    assert ada is not None and ada.role == "admin" and not ada.disabled
