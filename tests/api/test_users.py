"""Users, groups, passwords, application credentials and credentials (Keystone v3), driven
with the openstack CLI and openstacksdk, including what a plain project member may not do."""

import hashlib
import json
import os
import secrets
import subprocess

import openstack
import pytest
import requests


def uniq(prefix):
    return f"{prefix}-{secrets.token_hex(4)}"


def api(cloud, method, path, token, body=None, headers=None):
    """A raw identity API call; returns the requests.Response."""
    h = {"X-Auth-Token": token}
    h.update(headers or {})
    return requests.request(method, f"{cloud.auth_url}{path}", json=body, headers=h, timeout=30)


def password_token(cloud, user_id, password, project_id=None):
    """POST /v3/auth/tokens with a password; returns the Response."""
    auth = {"identity": {"methods": ["password"],
                         "password": {"user": {"id": user_id, "password": password}}}}
    if project_id:
        auth["scope"] = {"project": {"id": project_id}}
    return requests.post(f"{cloud.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)


def member_cli(cloud, user, *args, fmt=True):
    """`openstack ARGS [-f json]` as the member user (OS_* settings: with --os-cloud the
    clouds.yaml admin would win); the parsed output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_AUTH_URL=cloud.auth_url, OS_IDENTITY_API_VERSION="3", OS_INTERFACE="public",
               OS_USERNAME=user["name"], OS_PASSWORD=user["password"],
               OS_PROJECT_NAME=user["project_name"], OS_USER_DOMAIN_NAME="Default",
               OS_PROJECT_DOMAIN_NAME="Default")
    cp = subprocess.run(["/usr/bin/openstack", *args, *(["-f", "json"] if fmt else [])], capture_output=True, text=True,
                        timeout=120, stdin=subprocess.DEVNULL, env=env)
    assert cp.returncode == 0, f"openstack {' '.join(args)}: {cp.stderr}"
    return json.loads(cp.stdout) if cp.stdout.strip() else None


@pytest.fixture(scope="module")
def admin(cloud):
    return cloud.conn()


def make_member(cloud, admin):
    """A new user with the member role on a new project."""
    project = admin.identity.create_project(name=uniq("proj"), domain_id="default")
    password = "pw-" + secrets.token_hex(8)
    user = admin.identity.create_user(name=uniq("user"), password=password,
                                      domain_id="default", default_project_id=project.id)
    cloud.cli("role", "add", "--project", project.id, "--user", user.id, "member", check=True)
    return {"id": user.id, "name": user.name, "password": password,
            "project_id": project.id, "project_name": project.name}


@pytest.fixture
def member(cloud, admin):
    m = make_member(cloud, admin)
    yield m
    admin.identity.delete_user(m["id"], ignore_missing=True)
    admin.identity.delete_project(m["project_id"], ignore_missing=True)


def member_token(cloud, member):
    r = password_token(cloud, member["id"], member["password"], member["project_id"])
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


# ---- users ----

def test_user_crud_cli(cloud):
    name = uniq("cli-user")
    u = cloud.cli_json("user", "create", "--domain", "default", "--password", "s3cret",
                       "--email", f"{name}@example.org", "--description", "a test user", name)
    assert u["name"] == name
    assert u["domain_id"] == "default"
    assert u["enabled"] is True
    assert u["email"] == f"{name}@example.org"
    assert u["description"] == "a test user"
    assert u["options"] == {}
    assert u["password_expires_at"] is None

    shown = cloud.cli_json("user", "show", u["id"])
    assert shown["id"] == u["id"] and shown["email"] == u["email"]

    cloud.cli("user", "set", "--name", name + "-x", "--disable", u["id"], check=True)
    shown = cloud.cli_json("user", "show", u["id"])
    assert shown["name"] == name + "-x"
    assert shown["enabled"] is False

    listed = cloud.cli_json("user", "list", "--domain", "default")
    assert name + "-x" in [x["Name"] for x in listed]

    cloud.cli("user", "delete", u["id"], check=True)
    assert cloud.cli("user", "show", u["id"]).returncode != 0


def test_user_sdk_filters_and_update(cloud, admin):
    name = uniq("sdk-user")
    u = admin.identity.create_user(name=name, domain_id="default", enabled=False,
                                   email="x@example.org")
    try:
        assert [x.id for x in admin.identity.users(name=name)] == [u.id]
        assert u.id in [x.id for x in admin.identity.users(is_enabled=False)]
        assert u.id not in [x.id for x in admin.identity.users(is_enabled=True)]
        assert u.id in [x.id for x in admin.identity.users(domain_id="default")]

        tok = admin.auth_token
        r = api(cloud, "GET", f"/users?name__startswith={name[:-2]}", tok)
        assert r.status_code == 200 and u.id in [x["id"] for x in r.json()["users"]]
        r = api(cloud, "GET", "/users?password_expires_at=lt:2000-01-01T00:00:00Z", tok)
        assert r.status_code == 200 and r.json()["users"] == []
        r = api(cloud, "GET", "/users?password_expires_at=bogus:2000-01-01T00:00:00Z", tok)
        assert r.status_code == 400

        u2 = admin.identity.update_user(u, description="new", is_enabled=True)
        assert u2.description == "new" and u2.is_enabled

        # Options: validated like Keystone, merged on update, null removes one.
        r = api(cloud, "PATCH", f"/users/{u.id}", tok,
                {"user": {"options": {"lock_password": True, "ignore_password_expiry": True}}})
        assert r.status_code == 200, r.text
        assert r.json()["user"]["options"] == {"lock_password": True, "ignore_password_expiry": True}
        r = api(cloud, "PATCH", f"/users/{u.id}", tok, {"user": {"options": {"lock_password": None}}})
        assert r.json()["user"]["options"] == {"ignore_password_expiry": True}
        r = api(cloud, "PATCH", f"/users/{u.id}", tok, {"user": {"options": {"nonsense": True}}})
        assert r.status_code == 400
        r = api(cloud, "PATCH", f"/users/{u.id}", tok, {"user": {"domain_id": "other"}})
        assert r.status_code == 400

        # Duplicate names conflict within a domain.
        r = api(cloud, "POST", "/users", tok, {"user": {"name": name, "domain_id": "default"}})
        assert r.status_code == 409
        r = api(cloud, "POST", "/users", tok, {"user": {"name": uniq("u"), "domain_id": "nope"}})
        assert r.status_code == 404
    finally:
        admin.identity.delete_user(u, ignore_missing=True)
    r = api(cloud, "GET", f"/users/{u.id}", admin.auth_token)
    assert r.status_code == 404


def test_user_projects(cloud, admin, member):
    r = api(cloud, "GET", f"/users/{member['id']}/projects", admin.auth_token)
    assert r.status_code == 200, r.text
    assert member["project_id"] in [p["id"] for p in r.json()["projects"]]
    # The member may list their own projects.
    r = api(cloud, "GET", f"/users/{member['id']}/projects", member_token(cloud, member))
    assert r.status_code == 200, r.text


# ---- groups ----

def test_group_membership(cloud, admin, member):
    gname = uniq("group")
    g = cloud.cli_json("group", "create", "--domain", "default", "--description", "testers", gname)
    try:
        assert g["name"] == gname and g["description"] == "testers"
        cloud.cli("group", "add", "user", gname, member["name"], check=True)
        assert cloud.cli("group", "contains", "user", gname, member["name"]).returncode == 0

        users = cloud.cli_json("user", "list", "--group", gname)
        assert [x["ID"] for x in users] == [member["id"]]
        groups = api(cloud, "GET", f"/users/{member['id']}/groups", admin.auth_token).json()["groups"]
        assert [x["id"] for x in groups] == [g["id"]]
        assert groups[0]["membership_expires_at"] is None

        # Leaving a group ends the user's tokens (their roles may have shrunk).
        tok = member_token(cloud, member)
        cloud.cli("group", "remove", "user", gname, member["name"], check=True)
        r = api(cloud, "GET", "/auth/tokens", admin.auth_token, headers={"X-Subject-Token": tok})
        assert r.status_code == 404
        r = api(cloud, "HEAD", f"/groups/{g['id']}/users/{member['id']}", admin.auth_token)
        assert r.status_code == 404
        r = api(cloud, "DELETE", f"/groups/{g['id']}/users/{member['id']}", admin.auth_token)
        assert r.status_code == 404
        r = api(cloud, "PUT", f"/groups/{g['id']}/users/nope", admin.auth_token)
        assert r.status_code == 404

        cloud.cli("group", "set", "--name", gname + "-x", gname, check=True)
        assert cloud.cli_json("group", "show", g["id"])["name"] == gname + "-x"
    finally:
        cloud.cli("group", "delete", g["id"])
    assert cloud.cli("group", "show", g["id"]).returncode != 0


# ---- passwords ----

def test_own_password_change(cloud, member):
    old_token = member_token(cloud, member)
    new_password = "pw-" + secrets.token_hex(8)
    member_cli(cloud, member, "user", "password", "set", "--original-password", member["password"],
               "--password", new_password, fmt=False)

    # Tokens issued before the change no longer validate; the old password is refused.
    r = api(cloud, "GET", "/auth/tokens", cloud.conn().auth_token, headers={"X-Subject-Token": old_token})
    assert r.status_code == 404
    assert password_token(cloud, member["id"], member["password"]).status_code == 401
    assert password_token(cloud, member["id"], new_password).status_code == 201

    # A wrong original password is 401; the change API needs no token (expired passwords).
    r = requests.post(f"{cloud.auth_url}/users/{member['id']}/password", timeout=30,
                      json={"user": {"original_password": "wrong", "password": "x" * 12}})
    assert r.status_code == 401
    r = requests.post(f"{cloud.auth_url}/users/{member['id']}/password", timeout=30,
                      json={"user": {"original_password": new_password, "password": "y" * 12,
                                     "extra": 1}})
    assert r.status_code == 400


def test_lock_password_blocks_self_service(cloud, admin, member):
    r = api(cloud, "PATCH", f"/users/{member['id']}", admin.auth_token,
            {"user": {"options": {"lock_password": True}}})
    assert r.status_code == 200, r.text
    r = requests.post(f"{cloud.auth_url}/users/{member['id']}/password", timeout=30,
                      json={"user": {"original_password": member["password"], "password": "z" * 12}})
    assert r.status_code == 400
    # An admin reset still works, and ends the user's tokens.
    tok = member_token(cloud, member)
    r = api(cloud, "PATCH", f"/users/{member['id']}", admin.auth_token,
            {"user": {"password": "reset-" + secrets.token_hex(4)}})
    assert r.status_code == 200, r.text
    r = api(cloud, "GET", "/auth/tokens", admin.auth_token, headers={"X-Subject-Token": tok})
    assert r.status_code == 404


# ---- application credentials ----

def test_application_credential_auth(cloud, member):
    name = uniq("appcred")
    ac = member_cli(cloud, member, "application", "credential", "create",
                    "--description", "for a robot", name)
    assert ac["secret"]
    assert ac["project_id"] == member["project_id"]
    assert "member" in ac["roles"]

    conn = openstack.connect(
        load_yaml_config=False, load_envvars=False, auth_type="v3applicationcredential",
        auth={"auth_url": cloud.auth_url, "application_credential_id": ac["id"],
              "application_credential_secret": ac["secret"]},
        identity_api_version="3")
    assert conn.authorize()
    assert conn.current_project_id == member["project_id"]

    # The secret is never shown again; a restricted credential cannot make more of them.
    tok = member_token(cloud, member)
    shown = api(cloud, "GET", f"/users/{member['id']}/application_credentials/{ac['id']}", tok)
    assert shown.status_code == 200 and "secret" not in shown.json()["application_credential"]
    r = api(cloud, "POST", f"/users/{member['id']}/application_credentials", conn.auth_token,
            {"application_credential": {"name": uniq("child")}})
    assert r.status_code == 403
    # Names are unique per user.
    r = api(cloud, "POST", f"/users/{member['id']}/application_credentials", tok,
            {"application_credential": {"name": name}})
    assert r.status_code == 409
    # Only roles the token carries.
    r = api(cloud, "POST", f"/users/{member['id']}/application_credentials", tok,
            {"application_credential": {"name": uniq("x"), "roles": [{"name": "admin"}]}})
    assert r.status_code == 400
    r = api(cloud, "POST", f"/users/{member['id']}/application_credentials", tok,
            {"application_credential": {"name": uniq("x"), "expires_at": "2000-01-01T00:00:00"}})
    assert r.status_code == 400

    app_token = conn.auth_token
    member_cli(cloud, member, "application", "credential", "delete", ac["id"], fmt=False)
    r = api(cloud, "GET", "/auth/tokens", cloud.conn().auth_token, headers={"X-Subject-Token": app_token})
    assert r.status_code == 404


# ---- credentials ----

def test_ec2_credential_cli(cloud, admin, member):
    access = secrets.token_hex(8)
    blob = json.dumps({"access": access, "secret": "s3"})
    c = cloud.cli_json("credential", "create", "--type", "ec2", "--project", member["project_id"],
                       member["id"], blob)
    assert c["id"] == hashlib.sha256(access.encode()).hexdigest()
    assert c["type"] == "ec2" and c["user_id"] == member["id"]
    assert json.loads(c["blob"]) == {"access": access, "secret": "s3"}
    shown = cloud.cli_json("credential", "show", c["id"])
    assert json.loads(shown["blob"])["secret"] == "s3"

    # The owner sees their own credentials; an ec2 credential needs a project.
    tok = member_token(cloud, member)
    r = api(cloud, "GET", "/credentials", tok)
    assert r.status_code == 200 and [x["id"] for x in r.json()["credentials"]] == [c["id"]]
    r = api(cloud, "POST", "/credentials", admin.auth_token,
            {"credential": {"type": "ec2", "user_id": member["id"], "blob": blob}})
    assert r.status_code == 400
    r = api(cloud, "POST", "/credentials", admin.auth_token,
            {"credential": {"type": "ec2", "user_id": member["id"], "project_id": member["project_id"],
                            "blob": blob}})
    assert r.status_code == 409

    cloud.cli("credential", "delete", c["id"], check=True)
    assert cloud.cli("credential", "show", c["id"]).returncode != 0


def test_os_ec2_credentials(cloud, member):
    tok = member_token(cloud, member)
    base = f"/users/{member['id']}/credentials/OS-EC2"
    r = api(cloud, "POST", base, tok, {"tenant_id": member["project_id"]})
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert cred["user_id"] == member["id"] and cred["tenant_id"] == member["project_id"]
    assert cred["access"] and cred["secret"] and cred["trust_id"] is None
    assert [x["access"] for x in api(cloud, "GET", base, tok).json()["credentials"]] == [cred["access"]]
    r = api(cloud, "GET", f"{base}/{cred['access']}", tok)
    assert r.status_code == 200 and r.json()["credential"]["secret"] == cred["secret"]
    assert api(cloud, "DELETE", f"{base}/{cred['access']}", tok).status_code == 204
    assert api(cloud, "GET", f"{base}/{cred['access']}", tok).status_code == 404


# ---- denials ----

def test_member_denials(cloud, admin, member):
    tok = member_token(cloud, member)
    assert api(cloud, "GET", "/users", tok).status_code == 403
    assert api(cloud, "GET", f"/users/{admin.current_user_id}", tok).status_code == 403
    assert api(cloud, "GET", f"/users/{member['id']}", tok).status_code == 200
    assert api(cloud, "POST", "/users", tok, {"user": {"name": uniq("x")}}).status_code == 403
    r = api(cloud, "POST", f"/users/{admin.current_user_id}/application_credentials", tok,
            {"application_credential": {"name": uniq("steal")}})
    assert r.status_code == 403
    other = make_member(cloud, admin)
    try:
        # Changing another user's password takes knowing it (Keystone authenticates the change
        # by the original password, not by the token).
        r = api(cloud, "POST", f"/users/{other['id']}/password", tok,
                {"user": {"original_password": "guess", "password": "q" * 12}})
        assert r.status_code == 401
        r = api(cloud, "POST", "/credentials", tok,
                {"credential": {"type": "cert", "user_id": other["id"], "blob": "x"}})
        assert r.status_code == 403
    finally:
        admin.identity.delete_user(other["id"], ignore_missing=True)
        admin.identity.delete_project(other["project_id"], ignore_missing=True)
