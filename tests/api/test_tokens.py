"""Token API tests: scopes, rescoping, revocation, lockout, disabled users and projects, and
server-level behaviour (restart keeps tokens valid, policy.yaml overrides, TLS, newer schema
refused, bad input answered in Keystone's format, concurrent writers)."""

import concurrent.futures
import json
import os
import secrets
import signal
import sqlite3
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, clean_env, free_port, _ready


def call(url, method="GET", body=None, token=None, headers=None, context=None, raw=None):
    """(status, headers, parsed JSON or None) for one HTTP request."""
    h = {"Content-Type": "application/json"}
    if token:
        h["X-Auth-Token"] = token
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as r:
            text = r.read()
            return r.status, r.headers, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return e.code, e.headers, parsed


def password_auth(user, password, scope=None, domain="default", user_id=None):
    u = {"id": user_id} if user_id else {"name": user, "domain": {"id": domain}}
    u["password"] = password
    auth = {"identity": {"methods": ["password"], "password": {"user": u}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def issue(cloud, body, query=""):
    st, hdr, b = call(f"{cloud.auth_url}/auth/tokens{query}", "POST", body)
    return st, hdr.get("X-Subject-Token"), b


@pytest.fixture(scope="module")
def admin_token(cloud):
    st, tok, _ = issue(cloud, password_auth("admin", cloud.admin_password,
                                            {"project": {"name": "admin", "domain": {"id": "default"}}}))
    assert st == 201
    return tok


@pytest.fixture
def member(cloud, admin_token):
    """A fresh project with a user holding 'member' on it; cleaned up afterwards."""
    name = "tok-" + secrets.token_hex(4)
    pw = "pw-" + secrets.token_hex(8)
    base = cloud.auth_url
    _, _, p = call(f"{base}/projects", "POST", {"project": {"name": name}}, admin_token)
    _, _, u = call(f"{base}/users", "POST", {"user": {"name": name, "password": pw}}, admin_token)
    _, _, roles = call(f"{base}/roles?name=member", token=admin_token)
    role = roles["roles"][0]["id"]
    st, _, _ = call(f"{base}/projects/{p['project']['id']}/users/{u['user']['id']}/roles/{role}",
                    "PUT", token=admin_token)
    assert st == 204
    yield {"name": name, "password": pw, "user_id": u["user"]["id"],
           "project_id": p["project"]["id"], "role_id": role}
    call(f"{base}/users/{u['user']['id']}", "DELETE", token=admin_token)
    call(f"{base}/projects/{p['project']['id']}", "DELETE", token=admin_token)


def test_cli_token_issue_and_revoke(cloud, admin_token):
    tok = cloud.cli_json("token", "issue")
    assert tok["project_id"] and tok["user_id"] and tok["expires"]
    st, _, body = call(f"{cloud.auth_url}/auth/tokens", token=admin_token,
                       headers={"X-Subject-Token": tok["id"]})
    assert st == 200 and body["token"]["user"]["name"] == "admin"
    cloud.cli("token", "revoke", tok["id"], check=True)
    st, _, body = call(f"{cloud.auth_url}/auth/tokens", token=admin_token,
                       headers={"X-Subject-Token": tok["id"]})
    assert st == 404
    st, _, body = call(f"{cloud.auth_url}/projects", token=tok["id"])
    assert st == 401 and body["error"]["code"] == 401


def test_scopes_and_rescope(cloud, member):
    m = member
    # unscoped (the user has no default project): no roles, no catalog
    st, unscoped, b = issue(cloud, password_auth(m["name"], m["password"]))
    assert st == 201 and "project" not in b["token"] and "catalog" not in b["token"]
    # rescope the unscoped token to the project with the token method
    st, scoped, b = issue(cloud, {"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                                           "scope": {"project": {"id": m["project_id"]}}}})
    assert st == 201
    t = b["token"]
    assert t["project"]["id"] == m["project_id"]
    assert sorted(t["methods"]) == ["password", "token"]
    assert {r["name"] for r in t["roles"]} == {"member", "reader"}    # member implies reader
    assert any(s["type"] == "identity" for s in t["catalog"])
    assert len(t["audit_ids"]) == 2                                    # audit chain kept
    # nocatalog
    st, _, b = issue(cloud, password_auth(m["name"], m["password"], {"project": {"id": m["project_id"]}}),
                     "?nocatalog")
    assert st == 201 and "catalog" not in b["token"]
    # no role on the default domain / system: 401
    st, _, b = issue(cloud, password_auth(m["name"], m["password"], {"domain": {"id": "default"}}))
    assert st == 401
    st, _, b = issue(cloud, password_auth(m["name"], m["password"], {"system": {"all": True}}))
    assert st == 401
    # the member can see its own project via /v3/auth/projects
    st, _, b = call(f"{cloud.auth_url}/auth/projects", token=scoped)
    assert st == 200 and [p["id"] for p in b["projects"]] == [m["project_id"]]


def test_admin_domain_and_system_scope(cloud):
    st, _, b = issue(cloud, password_auth("admin", cloud.admin_password, {"system": {"all": True}}))
    assert st == 201 and b["token"]["system"] == {"all": True}
    st, _, b = issue(cloud, password_auth("admin", cloud.admin_password, {"domain": {"name": "Default"}}))
    assert st == 401          # bootstrap grants admin on the admin project and the system only


def test_member_denials(cloud, member, admin_token):
    st, tok, _ = issue(cloud, password_auth(member["name"], member["password"],
                                            {"project": {"id": member["project_id"]}}))
    assert st == 201
    st, _, b = call(f"{cloud.auth_url}/users", token=tok)
    assert st == 403 and b["error"]["code"] == 403
    _, _, admin_proj = call(f"{cloud.auth_url}/projects?name=admin", token=admin_token)
    st, _, _ = call(f"{cloud.auth_url}/projects/{admin_proj['projects'][0]['id']}", token=tok)
    assert st == 403
    # a member may not validate someone else's token
    st, _, _ = call(f"{cloud.auth_url}/auth/tokens", token=tok, headers={"X-Subject-Token": admin_token})
    assert st == 403


def test_role_removal_and_disable_invalidate_tokens(cloud, member, admin_token):
    m = member
    scope = {"project": {"id": m["project_id"]}}
    st, tok, _ = issue(cloud, password_auth(m["name"], m["password"], scope))
    assert call(f"{cloud.auth_url}/auth/projects", token=tok)[0] == 200
    call(f"{cloud.auth_url}/projects/{m['project_id']}/users/{m['user_id']}/roles/{m['role_id']}",
         "DELETE", token=admin_token)
    assert call(f"{cloud.auth_url}/auth/projects", token=tok)[0] == 401
    call(f"{cloud.auth_url}/projects/{m['project_id']}/users/{m['user_id']}/roles/{m['role_id']}",
         "PUT", token=admin_token)
    st, tok, _ = issue(cloud, password_auth(m["name"], m["password"], scope))
    assert st == 201
    # disabling the project kills its tokens and refuses new ones
    call(f"{cloud.auth_url}/projects/{m['project_id']}", "PATCH", {"project": {"enabled": False}}, admin_token)
    assert call(f"{cloud.auth_url}/auth/projects", token=tok)[0] == 401
    assert issue(cloud, password_auth(m["name"], m["password"], scope))[0] == 401
    call(f"{cloud.auth_url}/projects/{m['project_id']}", "PATCH", {"project": {"enabled": True}}, admin_token)
    # disabling the user: existing tokens die, new ones are refused
    st, tok, _ = issue(cloud, password_auth(m["name"], m["password"], scope))
    assert st == 201
    call(f"{cloud.auth_url}/users/{m['user_id']}", "PATCH", {"user": {"enabled": False}}, admin_token)
    assert call(f"{cloud.auth_url}/auth/projects", token=tok)[0] == 401
    st, _, b = issue(cloud, password_auth(m["name"], m["password"], scope))
    assert st == 401 and "disabled" in b["error"]["message"]


def test_lockout(cloud, member):
    m = member
    for _ in range(cloud.lockout_failure_attempts):
        assert issue(cloud, password_auth(m["name"], "wrong"))[0] == 401
    st, _, b = issue(cloud, password_auth(m["name"], m["password"]))
    assert st == 401 and "locked" in b["error"]["message"]
    time.sleep(cloud.lockout_duration + 0.5)
    assert issue(cloud, password_auth(m["name"], m["password"]))[0] == 201


def test_keystone_error_format(cloud, admin_token):
    url = f"{cloud.auth_url}/projects"
    st, _, b = call(url, "POST", raw=b"{not json", token=admin_token)
    assert st == 400 and b["error"]["code"] == 400 and b["error"]["title"] == "Bad Request"
    st, _, b = call(url, "POST", {"project": {"name": "x" * 65536}}, admin_token)
    assert st in (400, 413) and b["error"]["code"] == st
    st, _, b = call(url, "POST", raw=b"[" * 200000, token=admin_token)
    assert st == 413 and b["error"]["code"] == 413
    st, _, b = call(f"{cloud.auth_url}/no-such-thing", token=admin_token)
    assert st == 404 and b["error"]["code"] == 404
    st, hdr, b = call(url)
    assert st == 401 and hdr.get("WWW-Authenticate", "").startswith("Keystone uri=")
    assert hdr.get("x-openstack-request-id", "").startswith("req-")


def test_concurrent_writers(cloud, admin_token):
    """Parallel creates all succeed: writers queue, nobody sees 'database is locked'."""
    names = [f"par-{secrets.token_hex(4)}-{i}" for i in range(40)]

    def create(n):
        return call(f"{cloud.auth_url}/projects", "POST", {"project": {"name": n}}, admin_token)

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(create, names))
    assert [r[0] for r in results] == [201] * len(names)
    ids = [r[2]["project"]["id"] for r in results]
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        deleted = list(ex.map(lambda i: call(f"{cloud.auth_url}/projects/{i}", "DELETE", token=admin_token), ids))
    assert [d[0] for d in deleted] == [204] * len(ids)


# --- behaviour of the server process itself (own short-lived servers) -------------------------

class Server:
    def __init__(self, tmp, config_text="", extra_args=()):
        self.tmp = Path(tmp)
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(8)
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = self.tmp / "monostack.conf"
        # These process-level tests always use their own SQLite file (a fresh cloud each).
        self.conf.write_text(config_text)
        self.binary = os.environ.get("MONOSTACK_BIN", str(REPO / "build" / "monostack"))
        self.args = [self.binary, "up", "--data-dir", str(self.tmp / "data"), "--bind",
                     f"127.0.0.1:{self.port}", "--admin-password", self.password,
                     "--no-user-config", "--config", str(self.conf), *extra_args]
        self.proc = None

    def start(self, expect_ready=True):
        self.log = open(self.tmp / "server.log", "ab")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=clean_env())
        if not expect_ready:
            return self.proc.wait(timeout=15)
        deadline = time.monotonic() + 10
        while not _ready(f"{self.url}/identity/v3"):
            assert self.proc.poll() is None, (self.tmp / "server.log").read_text()
            assert time.monotonic() < deadline, "server not ready"
            time.sleep(0.05)
        return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=15) == 0
        self.log.close()

    def token(self):
        st, hdr, _ = call(f"{self.url}/identity/v3/auth/tokens", "POST",
                          password_auth("admin", self.password,
                                        {"project": {"name": "admin", "domain": {"id": "default"}}}))
        assert st == 201
        return hdr["X-Subject-Token"]


def test_restart_keeps_tokens_and_rotation(tmp_path):
    s = Server(tmp_path)
    s.start()
    tok = s.token()
    s.stop()
    s.start()                       # same data dir: same keys, same cloud
    try:
        assert call(f"{s.url}/identity/v3/projects", token=tok)[0] == 200
        # rotate the keys while it runs: old tokens still validate, new ones are issued
        out = subprocess.run([s.binary, "fernet-rotate", "--data-dir", str(s.tmp / "data"),
                              "--config", str(s.conf)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        time.sleep(1.2)             # the server looks at the key directory once a second
        tok2 = s.token()
        assert call(f"{s.url}/identity/v3/projects", token=tok)[0] == 200
        assert call(f"{s.url}/identity/v3/projects", token=tok2)[0] == 200
    finally:
        s.stop()
    # the generated files are there and private
    for f in ("clouds.yaml", "openrc", "admin-password"):
        assert (s.tmp / "data" / f).stat().st_mode & 0o077 == 0


def test_relative_data_dir(tmp_path):
    """`make up` passes --data-dir .monostack: a relative data dir works (database, keys, files)."""
    s = Server(tmp_path)
    s.args[s.args.index("--data-dir") + 1] = "rel-data"
    s.log = open(tmp_path / "server.log", "ab")
    s.proc = subprocess.Popen(s.args, stdin=subprocess.DEVNULL, stdout=s.log, stderr=subprocess.STDOUT,
                              env=clean_env(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while not _ready(f"{s.url}/identity/v3"):
            assert s.proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        s.token()
        assert (tmp_path / "rel-data" / "monostack.db").is_file()
        assert (tmp_path / "rel-data" / "fernet-keys" / "0").is_file()
        assert (tmp_path / "rel-data" / "clouds.yaml").is_file()
    finally:
        s.stop()


def test_policy_override(tmp_path):
    (tmp_path / "policy.yaml").write_text('"identity:list_projects": "!"\n')
    s = Server(tmp_path, f"[oslo_policy]\npolicy_file = {tmp_path / 'policy.yaml'}\n")
    s.start()
    try:
        tok = s.token()
        st, _, b = call(f"{s.url}/identity/v3/projects", token=tok)
        assert st == 403 and "identity:list_projects" in b["error"]["message"]
        assert call(f"{s.url}/identity/v3/users", token=tok)[0] == 200
    finally:
        s.stop()


def test_newer_schema_refused(tmp_path):
    s = Server(tmp_path)
    s.start()
    s.stop()
    db = sqlite3.connect(tmp_path / "data" / "monostack.db")
    db.execute("UPDATE schema_versions SET version = version + 100 WHERE service = 'identity'")
    db.commit()
    db.close()
    rc = s.start(expect_ready=False)
    assert rc != 0
    assert "newer than this binary" in (tmp_path / "server.log").read_text()


def test_tls(tmp_path):
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    s = Server(tmp_path, f"[tls]\ncert_file = {crt}\nkey_file = {key}\n")
    s.url = f"https://127.0.0.1:{s.port}"
    ctx = ssl.create_default_context(cafile=str(crt))
    ctx.check_hostname = False
    s.log = open(tmp_path / "server.log", "ab")
    s.proc = subprocess.Popen(s.args, stdin=subprocess.DEVNULL, stdout=s.log, stderr=subprocess.STDOUT,
                              env=clean_env())
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                st, _, b = call(f"{s.url}/identity/v3", context=ctx)
                break
            except (urllib.error.URLError, OSError):
                assert s.proc.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert st == 200 and b["version"]["links"][0]["href"].startswith("https://")
        catalog_yaml = (tmp_path / "data" / "clouds.yaml").read_text()
        assert f"https://127.0.0.1:{s.port}/identity/v3" in catalog_yaml
    finally:
        s.stop()
