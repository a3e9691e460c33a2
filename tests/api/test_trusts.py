"""OS-TRUST API tests: trusts through the openstack CLI (create, list, show, delete), trust-scoped
tokens (with and without impersonation), remaining_uses, deleting a trust killing its tokens, and
Keystone's denials (another trustor, trust-scoped tokens rescoping or making trusts)."""

import secrets

import pytest

from test_tokens import call, issue, password_auth


@pytest.fixture(scope="module")
def admin_token(cloud):
    st, tok, _ = issue(cloud, password_auth("admin", cloud.admin_password,
                                            {"project": {"name": "admin", "domain": {"id": "default"}}}))
    assert st == 201
    return tok


def _user(cloud, admin_token, project_id=None, role_id=None):
    name = "tr-" + secrets.token_hex(4)
    pw = "pw-" + secrets.token_hex(8)
    st, _, u = call(f"{cloud.auth_url}/users", "POST", {"user": {"name": name, "password": pw}}, admin_token)
    assert st == 201
    uid = u["user"]["id"]
    if project_id:
        st, _, _ = call(f"{cloud.auth_url}/projects/{project_id}/users/{uid}/roles/{role_id}", "PUT",
                        token=admin_token)
        assert st == 204
    return {"name": name, "password": pw, "id": uid}


@pytest.fixture
def parties(cloud, admin_token):
    """A project, a trustor with 'member' on it, and a trustee with no roles at all."""
    base = cloud.auth_url
    _, _, p = call(f"{base}/projects", "POST", {"project": {"name": "tr-" + secrets.token_hex(4)}}, admin_token)
    pid = p["project"]["id"]
    _, _, roles = call(f"{base}/roles?name=member", token=admin_token)
    role = roles["roles"][0]["id"]
    trustor = _user(cloud, admin_token, pid, role)
    trustee = _user(cloud, admin_token)
    yield {"project_id": pid, "role_id": role, "trustor": trustor, "trustee": trustee}
    for u in (trustor, trustee):
        call(f"{base}/users/{u['id']}", "DELETE", token=admin_token)
    call(f"{base}/projects/{pid}", "DELETE", token=admin_token)


def token_of(cloud, user, scope=None):
    st, tok, body = issue(cloud, password_auth(user["name"], user["password"], scope))
    assert st == 201, body
    return tok


def make_trust(cloud, parties, **extra):
    t = {"trustor_user_id": parties["trustor"]["id"], "trustee_user_id": parties["trustee"]["id"],
         "project_id": parties["project_id"], "impersonation": False, "roles": [{"name": "member"}]}
    t.update(extra)
    tok = token_of(cloud, parties["trustor"], {"project": {"id": parties["project_id"]}})
    return call(f"{cloud.auth_url}/OS-TRUST/trusts", "POST", {"trust": t}, tok)


def trust_token(cloud, user, trust_id):
    return issue(cloud, password_auth(user["name"], user["password"], {"OS-TRUST:trust": {"id": trust_id}}))


def test_cli_create_list_show_delete(cloud, admin_token):
    trustee = _user(cloud, admin_token)
    try:
        admin = cloud.cli_json("user", "show", "admin")
        t = cloud.cli_json("trust", "create", "--project", "admin", "--role", "member",
                           "admin", trustee["id"])
        assert t["trustor_user_id"] == admin["id"] and t["trustee_user_id"] == trustee["id"]
        assert t["impersonation"] is False
        listed = cloud.cli_json("trust", "list")
        assert any(x["ID"] == t["id"] for x in listed)
        shown = cloud.cli_json("trust", "show", t["id"])
        assert shown["id"] == t["id"] and "member" in str(shown["roles"])
        cloud.cli("trust", "delete", t["id"], check=True)
        st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts/{t['id']}", token=admin_token)
        assert st == 404
    finally:
        call(f"{cloud.auth_url}/users/{trustee['id']}", "DELETE", token=admin_token)


def test_trust_token_and_roles(cloud, parties, admin_token):
    st, _, body = make_trust(cloud, parties)
    assert st == 201, body
    trust = body["trust"]
    assert trust["roles"][0]["name"] == "member" and trust["remaining_uses"] is None
    assert trust["links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}")
    # Roles routes.
    ttok = token_of(cloud, parties["trustee"])
    st, _, body = call(f"{cloud.auth_url}/OS-TRUST/trusts/{trust['id']}/roles", token=ttok)
    assert st == 200 and [r["id"] for r in body["roles"]] == [parties["role_id"]]
    st, _, body = call(f"{cloud.auth_url}/OS-TRUST/trusts/{trust['id']}/roles/{parties['role_id']}", token=ttok)
    assert st == 200 and body["role"]["name"] == "member"
    st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts/{trust['id']}/roles/nope", "HEAD", token=ttok)
    assert st == 404
    # Filters.
    st, _, body = call(f"{cloud.auth_url}/OS-TRUST/trusts?trustee_user_id={parties['trustee']['id']}", token=ttok)
    assert st == 200 and [t["id"] for t in body["trusts"]] == [trust["id"]]
    # The trustee's trust-scoped token.
    st, tok, body = trust_token(cloud, parties["trustee"], trust["id"])
    assert st == 201, body
    t = body["token"]
    assert t["OS-TRUST:trust"] == {"id": trust["id"], "impersonation": False,
                                   "trustee_user": {"id": parties["trustee"]["id"]},
                                   "trustor_user": {"id": parties["trustor"]["id"]}}
    assert t["user"]["id"] == parties["trustee"]["id"]
    assert t["project"]["id"] == parties["project_id"]
    assert "member" in [r["name"] for r in t["roles"]]
    st, _, body = call(f"{cloud.auth_url}/auth/tokens", token=admin_token, headers={"X-Subject-Token": tok})
    assert st == 200 and body["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    # It cannot be rescoped, nor make a trust.
    st, _, body = issue(cloud, {"auth": {"identity": {"methods": ["token"], "token": {"id": tok}},
                                         "scope": {"project": {"id": parties["project_id"]}}}})
    assert st == 403
    st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts", "POST", {"trust": {
        "trustor_user_id": parties["trustee"]["id"], "trustee_user_id": parties["trustor"]["id"],
        "impersonation": False}}, tok)
    assert st == 403
    # Someone else than the trustee cannot use it.
    st, _, _ = trust_token(cloud, parties["trustor"], trust["id"])
    assert st == 403
    # Deleting the trust kills its token.
    otok = token_of(cloud, parties["trustor"], {"project": {"id": parties["project_id"]}})
    st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts/{trust['id']}", "DELETE", token=otok)
    assert st == 204
    st, _, _ = call(f"{cloud.auth_url}/auth/tokens", token=admin_token, headers={"X-Subject-Token": tok})
    assert st == 404
    st, _, _ = trust_token(cloud, parties["trustee"], trust["id"])
    assert st == 401


def test_impersonation(cloud, parties):
    st, _, body = make_trust(cloud, parties, impersonation=True)
    assert st == 201, body
    st, _, body = trust_token(cloud, parties["trustee"], body["trust"]["id"])
    assert st == 201, body
    t = body["token"]
    assert t["user"]["id"] == parties["trustor"]["id"]
    assert t["OS-TRUST:trust"]["impersonation"] is True
    assert t["OS-TRUST:trust"]["trustee_user"]["id"] == parties["trustee"]["id"]


def test_remaining_uses(cloud, parties):
    st, _, body = make_trust(cloud, parties, remaining_uses=1)
    assert st == 201 and body["trust"]["remaining_uses"] == 1
    tid = body["trust"]["id"]
    st, tok, _ = trust_token(cloud, parties["trustee"], tid)
    assert st == 201
    st, _, _ = trust_token(cloud, parties["trustee"], tid)
    assert st == 401
    # The token issued with the last use keeps working.
    st, _, _ = call(f"{cloud.auth_url}/auth/tokens", token=tok, headers={"X-Subject-Token": tok})
    assert st == 200


def test_validation_and_denials(cloud, parties, admin_token):
    # Another trustor than the caller: 403.
    st, _, body = make_trust(cloud, parties, trustor_user_id=parties["trustee"]["id"])
    assert st == 403
    # A role the trustor does not have: 404.
    st, _, _ = make_trust(cloud, parties, roles=[{"name": "admin"}])
    assert st == 404
    # Bad values.
    for extra in ({"remaining_uses": 0}, {"expires_at": "bad.123Z"},
                  {"expires_at": "2000-01-01T00:00:00Z"}, {"impersonation": "yes"}):
        st, _, _ = make_trust(cloud, parties, **extra)
        assert st == 400, extra
    st, _, _ = make_trust(cloud, parties, allow_redelegation=True)
    assert st == 403
    # A project with no roles.
    st, _, _ = make_trust(cloud, parties, roles=[])
    assert st == 403
    # Unrelated users cannot see someone's trust; admin can.
    st, _, body = make_trust(cloud, parties)
    tid = body["trust"]["id"]
    other = _user(cloud, admin_token)
    try:
        otok = token_of(cloud, other)
        st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts/{tid}", token=otok)
        assert st == 403
        st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts/{tid}", "DELETE", token=otok)
        assert st == 403
        st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts?trustor_user_id={parties['trustor']['id']}",
                        token=otok)
        assert st == 403
        st, _, _ = call(f"{cloud.auth_url}/OS-TRUST/trusts", token=otok)
        assert st == 403
    finally:
        call(f"{cloud.auth_url}/users/{other['id']}", "DELETE", token=admin_token)
    st, _, body = call(f"{cloud.auth_url}/OS-TRUST/trusts", token=admin_token)
    assert st == 200 and tid in [t["id"] for t in body["trusts"]]
    # Removing the trustor's role makes the trust unusable (403 as Keystone).
    call(f"{cloud.auth_url}/projects/{parties['project_id']}/users/{parties['trustor']['id']}/roles/"
         f"{parties['role_id']}", "DELETE", token=admin_token)
    st, _, _ = trust_token(cloud, parties["trustee"], tid)
    assert st == 403
