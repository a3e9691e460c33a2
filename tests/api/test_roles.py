"""Roles, implied roles, grants and role assignments (Keystone v3), driven with the openstack
CLI, openstacksdk and raw API calls, including what a plain project member may not do."""

import secrets

import pytest
import requests


def uniq(prefix):
    return f"{prefix}-{secrets.token_hex(4)}"


def api(cloud, method, path, token, body=None):
    """A raw identity API call; returns the requests.Response."""
    return requests.request(method, f"{cloud.auth_url}{path}", json=body,
                            headers={"X-Auth-Token": token}, timeout=30)


def password_token(cloud, user_id, password, scope=None):
    """POST /v3/auth/tokens with a password; returns the Response."""
    auth = {"identity": {"methods": ["password"],
                         "password": {"user": {"id": user_id, "password": password}}}}
    if scope:
        auth["scope"] = scope
    return requests.post(f"{cloud.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)


@pytest.fixture(scope="module")
def admin(cloud):
    return cloud.conn()


@pytest.fixture(scope="module")
def admin_token(admin):
    return admin.session.get_token()


@pytest.fixture
def scratch(cloud, admin):
    """A project, a user (with password) and a group in the default domain, removed after."""
    project = admin.identity.create_project(name=uniq("rproj"), domain_id="default")
    password = "pw-" + secrets.token_hex(8)
    user = admin.identity.create_user(name=uniq("ruser"), password=password, domain_id="default")
    group = admin.identity.create_group(name=uniq("rgroup"), domain_id="default")
    made = {"project": project, "user": user, "password": password, "group": group,
            "roles": [], "projects": []}
    yield made
    for p in reversed(made["projects"]):
        admin.identity.delete_project(p, ignore_missing=True)
    admin.identity.delete_group(group.id, ignore_missing=True)
    admin.identity.delete_user(user.id, ignore_missing=True)
    admin.identity.delete_project(project.id, ignore_missing=True)
    for r in made["roles"]:
        admin.identity.delete_role(r, ignore_missing=True)


def new_role(cloud, scratch, *extra):
    role = cloud.cli_json("role", "create", *extra, uniq("role"))
    scratch["roles"].append(role["id"])
    return role


def effective(cloud, *args):
    """`openstack role assignment list --effective --names ARGS` as a list of dicts."""
    return cloud.cli_json("role", "assignment", "list", "--effective", "--names", *args)


# ---- roles ----

def test_role_crud_cli(cloud, scratch):
    role = new_role(cloud, scratch, "--description", "first")
    assert role["domain_id"] is None
    assert role["description"] == "first"
    assert role["options"] == {}
    shown = cloud.cli_json("role", "show", role["id"])
    assert shown["name"] == role["name"]
    renamed = uniq("renamed")
    cloud.cli("role", "set", "--name", renamed, "--description", "second", role["id"], check=True)
    shown = cloud.cli_json("role", "show", role["id"])
    assert shown["name"] == renamed and shown["description"] == "second"
    names = [r["Name"] for r in cloud.cli_json("role", "list")]
    assert renamed in names and "admin" in names and "member" in names
    cloud.cli("role", "delete", role["id"], check=True)
    assert cloud.cli("role", "show", role["id"]).returncode != 0


def test_role_api_shape_and_errors(cloud, admin_token, scratch):
    r = api(cloud, "POST", "/roles", admin_token,
            {"role": {"name": uniq("raw"), "description": "d", "color": "blue"}})
    assert r.status_code == 201, r.text
    role = r.json()["role"]
    scratch["roles"].append(role["id"])
    assert role["links"]["self"].endswith(f"/v3/roles/{role['id']}")
    assert role["color"] == "blue"
    assert role["domain_id"] is None
    dup = api(cloud, "POST", "/roles", admin_token, {"role": {"name": role["name"]}})
    assert dup.status_code == 409, dup.text
    assert api(cloud, "POST", "/roles", admin_token, {"role": {}}).status_code == 400
    assert api(cloud, "POST", "/roles", admin_token,
               {"role": {"name": "x", "options": {"nope": True}}}).status_code == 400
    assert api(cloud, "PATCH", f"/roles/{role['id']}", admin_token,
               {"role": {"id": "other"}}).status_code == 400
    missing = api(cloud, "GET", "/roles/does-not-exist", admin_token)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Could not find role: does-not-exist."


def test_immutable_role(cloud, admin_token, scratch):
    r = api(cloud, "POST", "/roles", admin_token,
            {"role": {"name": uniq("imm"), "options": {"immutable": True}}})
    assert r.status_code == 201, r.text
    rid = r.json()["role"]["id"]
    scratch["roles"].append(rid)
    assert r.json()["role"]["options"] == {"immutable": True}
    assert api(cloud, "PATCH", f"/roles/{rid}", admin_token,
               {"role": {"name": uniq("x")}}).status_code == 403
    assert api(cloud, "DELETE", f"/roles/{rid}", admin_token).status_code == 403
    r = api(cloud, "PATCH", f"/roles/{rid}", admin_token, {"role": {"options": {"immutable": False}}})
    assert r.status_code == 200, r.text
    assert api(cloud, "DELETE", f"/roles/{rid}", admin_token).status_code == 204


def test_domain_specific_role(cloud, admin, admin_token, scratch):
    drole = new_role(cloud, scratch, "--domain", "default")
    assert drole["domain_id"] == "default"
    in_domain = [r["ID"] for r in cloud.cli_json("role", "list", "--domain", "default")]
    assert drole["id"] in in_domain
    assert drole["id"] not in [r["ID"] for r in cloud.cli_json("role", "list")]

    # A domain role is granted but never effective itself: only what it implies is.
    glob = new_role(cloud, scratch)
    r = api(cloud, "PUT", f"/roles/{drole['id']}/implies/{glob['id']}", admin_token)
    assert r.status_code == 201, r.text
    user, project = scratch["user"], scratch["project"]
    cloud.cli("role", "add", "--project", project.id, "--user", user.id,
              "--role-domain", "default", drole["name"], check=True)
    got = {a["Role"] for a in effective(cloud, "--user", user.id, "--project", project.id)}
    assert got == {glob["name"]}

    # Only on a project of its own domain.
    other = admin.identity.create_domain(name=uniq("dom"))
    try:
        p2 = admin.identity.create_project(name=uniq("p2"), domain_id=other.id)
        r = api(cloud, "PUT", f"/projects/{p2.id}/users/{user.id}/roles/{drole['id']}", admin_token)
        assert r.status_code == 403, r.text
        admin.identity.delete_project(p2.id)
    finally:
        admin.identity.update_domain(other.id, enabled=False)
        admin.identity.delete_domain(other.id)


def test_implied_roles(cloud, admin_token, scratch):
    prior, implied = new_role(cloud, scratch), new_role(cloud, scratch)
    path = f"/roles/{prior['id']}/implies/{implied['id']}"
    r = api(cloud, "PUT", path, admin_token)
    assert r.status_code == 201, r.text
    inference = r.json()["role_inference"]
    assert inference["prior_role"]["id"] == prior["id"]
    assert inference["prior_role"]["name"] == prior["name"]
    assert inference["implies"]["id"] == implied["id"]
    assert r.json()["links"]["self"].endswith(f"/v3{path}")
    assert api(cloud, "HEAD", path, admin_token).status_code == 204
    assert api(cloud, "GET", path, admin_token).status_code == 200
    listed = api(cloud, "GET", f"/roles/{prior['id']}/implies", admin_token).json()
    assert [i["id"] for i in listed["role_inference"]["implies"]] == [implied["id"]]
    rules = [row for row in cloud.cli_json("implied", "role", "list")
             if row["Prior Role ID"] == prior["id"]]
    assert [row["Implied Role ID"] for row in rules] == [implied["id"]]
    # admin may not be implied; a global role may not imply a domain role
    admin_role = cloud.cli_json("role", "show", "admin")
    assert api(cloud, "PUT", f"/roles/{prior['id']}/implies/{admin_role['id']}",
               admin_token).status_code == 403
    drole = new_role(cloud, scratch, "--domain", "default")
    assert api(cloud, "PUT", f"/roles/{prior['id']}/implies/{drole['id']}",
               admin_token).status_code == 403
    assert api(cloud, "DELETE", path, admin_token).status_code == 204
    assert api(cloud, "GET", path, admin_token).status_code == 404


# ---- grants and assignments ----

def test_role_add_and_effective_names(cloud, admin_token, scratch):
    user, project = scratch["user"], scratch["project"]
    cloud.cli("role", "add", "--project", project.name, "--user", user.name, "member", check=True)
    rows = effective(cloud, "--user", user.name)
    got = {(a["Role"], a["User"], a["Project"]) for a in rows}
    # member implies reader (bootstrap's inference rules)
    assert ("member", f"{user.name}@Default", f"{project.name}@Default") in got
    assert ("reader", f"{user.name}@Default", f"{project.name}@Default") in got
    listed = api(cloud, "GET", f"/projects/{project.id}/users/{user.id}/roles", admin_token)
    assert [r["name"] for r in listed.json()["roles"]] == ["member"]
    token = password_token(cloud, user.id, scratch["password"], {"project": {"id": project.id}})
    assert token.status_code == 201, token.text
    assert {r["name"] for r in token.json()["token"]["roles"]} == {"member", "reader"}


def test_group_grant_is_effective_for_members(cloud, admin, admin_token, scratch):
    user, project, group = scratch["user"], scratch["project"], scratch["group"]
    role = new_role(cloud, scratch)
    admin.identity.add_user_to_group(user, group)
    cloud.cli("role", "add", "--project", project.id, "--group", group.id, role["name"], check=True)
    rows = effective(cloud, "--user", user.id)
    assert [(a["Role"], a["Group"]) for a in rows if a["Role"] == role["name"]] == [(role["name"], "")]
    # the raw entity: a user assignment, linked to the group grant and the membership
    r = api(cloud, "GET", f"/role_assignments?effective&user.id={user.id}&role.id={role['id']}",
            admin_token)
    assert r.status_code == 200, r.text
    [entity] = r.json()["role_assignments"]
    assert entity["user"] == {"id": user.id}
    assert entity["scope"] == {"project": {"id": project.id}}
    assert entity["links"]["assignment"].endswith(
        f"/v3/projects/{project.id}/groups/{group.id}/roles/{role['id']}")
    assert entity["links"]["membership"].endswith(f"/v3/groups/{group.id}/users/{user.id}")
    # without effective the group grant itself is listed
    direct = cloud.cli_json("role", "assignment", "list", "--group", group.id)
    assert [a["Role"] for a in direct] == [role["id"]]
    # effective and group together is refused, as in Keystone
    r = api(cloud, "GET", f"/role_assignments?effective&group.id={group.id}", admin_token)
    assert r.status_code == 400


def test_system_role_assignment(cloud, admin_token, scratch):
    user = scratch["user"]
    cloud.cli("role", "add", "--system", "all", "--user", user.id, "reader", check=True)
    rows = cloud.cli_json("role", "assignment", "list", "--user", user.id, "--system", "all", "--names")
    assert [(a["Role"], a["System"]) for a in rows] == [("reader", "all")]
    token = password_token(cloud, user.id, scratch["password"], {"system": {"all": True}})
    assert token.status_code == 201, token.text
    assert [r["name"] for r in token.json()["token"]["roles"]] == ["reader"]
    drole = new_role(cloud, scratch, "--domain", "default")
    r = api(cloud, "PUT", f"/system/users/{user.id}/roles/{drole['id']}", admin_token)
    assert r.status_code == 400, r.text
    cloud.cli("role", "remove", "--system", "all", "--user", user.id, "reader", check=True)
    assert cloud.cli_json("role", "assignment", "list", "--user", user.id, "--system", "all") == []


def test_inherited_assignments(cloud, admin, admin_token, scratch):
    user, project = scratch["user"], scratch["project"]
    child = admin.identity.create_project(name=uniq("child"), domain_id="default", parent_id=project.id)
    scratch["projects"].append(child.id)
    role = new_role(cloud, scratch)
    # inherited from the parent project: applies to the child, not to the parent itself
    cloud.cli("role", "add", "--project", project.id, "--user", user.id, "--inherited",
              role["name"], check=True)
    rows = effective(cloud, "--user", user.id)
    projects = {a["Project"] for a in rows if a["Role"] == role["name"]}
    assert projects == {f"{child.name}@Default"}
    assert all(a["Inherited"] for a in rows if a["Role"] == role["name"])
    r = api(cloud, "GET", f"/OS-INHERIT/projects/{project.id}/users/{user.id}/roles/{role['id']}"
            "/inherited_to_projects", admin_token)
    assert r.status_code == 204
    token = password_token(cloud, user.id, scratch["password"], {"project": {"id": child.id}})
    assert token.status_code == 201, token.text
    assert role["name"] in {r["name"] for r in token.json()["token"]["roles"]}
    cloud.cli("role", "remove", "--project", project.id, "--user", user.id, "--inherited",
              role["name"], check=True)
    assert [a for a in effective(cloud, "--user", user.id) if a["Role"] == role["name"]] == []

    # inherited from the domain: every project of the domain
    cloud.cli("role", "add", "--domain", "default", "--user", user.id, "--inherited",
              role["name"], check=True)
    rows = effective(cloud, "--user", user.id, "--project", child.id)
    assert [a["Role"] for a in rows] == [role["name"]]
    listed = api(cloud, "GET", f"/OS-INHERIT/domains/default/users/{user.id}/roles/inherited_to_projects",
                 admin_token).json()["roles"]
    assert [r["id"] for r in listed] == [role["id"]]
    cloud.cli("role", "remove", "--domain", "default", "--user", user.id, "--inherited",
              role["name"], check=True)
    assert effective(cloud, "--user", user.id, "--project", child.id) == []


def test_role_remove_revokes(cloud, admin_token, scratch):
    user, project = scratch["user"], scratch["project"]
    cloud.cli("role", "add", "--project", project.id, "--user", user.id, "member", check=True)
    token = password_token(cloud, user.id, scratch["password"], {"project": {"id": project.id}})
    assert token.status_code == 201, token.text
    subject = token.headers["X-Subject-Token"]
    check = {"X-Auth-Token": admin_token, "X-Subject-Token": subject}
    assert requests.get(f"{cloud.auth_url}/auth/tokens", headers=check, timeout=30).status_code == 200
    cloud.cli("role", "remove", "--project", project.id, "--user", user.id, "member", check=True)
    assert requests.get(f"{cloud.auth_url}/auth/tokens", headers=check, timeout=30).status_code == 404
    assert cloud.cli_json("role", "assignment", "list", "--user", user.id, "--project", project.id) == []
    again = api(cloud, "DELETE", f"/projects/{project.id}/users/{user.id}/roles/"
                + cloud.cli_json("role", "show", "member")["id"], admin_token)
    assert again.status_code == 404


def test_role_delete_removes_assignments(cloud, admin_token, scratch):
    user, project = scratch["user"], scratch["project"]
    role = new_role(cloud, scratch)
    cloud.cli("role", "add", "--project", project.id, "--user", user.id, role["name"], check=True)
    cloud.cli("role", "delete", role["id"], check=True)
    r = api(cloud, "GET", f"/role_assignments?user.id={user.id}", admin_token)
    assert r.json()["role_assignments"] == []


# ---- what a plain member may not do ----

@pytest.fixture
def member_token(cloud, scratch):
    user, project = scratch["user"], scratch["project"]
    cloud.cli("role", "add", "--project", project.id, "--user", user.id, "member", check=True)
    r = password_token(cloud, user.id, scratch["password"], {"project": {"id": project.id}})
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def test_member_cannot_grant_roles(cloud, admin, scratch, member_token):
    user, project = scratch["user"], scratch["project"]
    admin_role = cloud.cli_json("role", "show", "admin")
    r = api(cloud, "PUT", f"/projects/{project.id}/users/{user.id}/roles/{admin_role['id']}", member_token)
    assert r.status_code == 403, r.text
    r = api(cloud, "POST", "/roles", member_token, {"role": {"name": uniq("nope")}})
    assert r.status_code == 403, r.text
    r = api(cloud, "PUT", f"/system/users/{user.id}/roles/{admin_role['id']}", member_token)
    assert r.status_code == 403, r.text


def test_member_cannot_list_assignments_of_others(cloud, admin, scratch, member_token):
    admin_user = admin.identity.find_user("admin", domain_id="default")
    r = api(cloud, "GET", f"/role_assignments?user.id={admin_user.id}", member_token)
    assert r.status_code == 403, r.text
    r = api(cloud, "GET", f"/projects/{scratch['project'].id}/users/{admin_user.id}/roles", member_token)
    assert r.status_code == 403, r.text
