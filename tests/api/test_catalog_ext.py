"""Catalog extensions: OS-EP-FILTER endpoint groups and project associations (and the filtered
catalog of a project's tokens), /v3/policies and OS-ENDPOINT-POLICY, driven with the openstack
CLI, openstacksdk and plain HTTP. Includes the denials Keystone's default policy gives a plain
project member.

Only projects made here get associations: a filtered admin project would hide the identity
endpoint from the other tests' clients."""

import json
import uuid

import pytest
import requests

from conftest import Api, uniq


@pytest.fixture(scope="module")
def world(admin):
    """A service with three endpoints (public in region r-parent/r-child, internal, admin)."""
    parent = admin.identity.create_region(id=uniq("r-parent"))
    child = admin.identity.create_region(id=uniq("r-child"), parent_region_id=parent.id)
    svc = admin.identity.create_service(type=uniq("svc"), name=uniq("svcname"))
    eps = {
        "public": admin.identity.create_endpoint(service_id=svc.id, interface="public",
                                                 url="http://pub.example/v1/$(project_id)s",
                                                 region_id=child.id),
        "internal": admin.identity.create_endpoint(service_id=svc.id, interface="internal",
                                                   url="http://int.example/v1"),
        "admin": admin.identity.create_endpoint(service_id=svc.id, interface="admin",
                                                url="http://adm.example/v1"),
    }
    yield {"service": svc, "endpoints": eps, "parent": parent, "child": child}
    admin.identity.delete_service(svc)           # its endpoints go with it
    admin.identity.delete_region(child)
    admin.identity.delete_region(parent)


def user_in_new_project(admin, role="member"):
    """A new project and a user with role on it; returns (project, user, password)."""
    project = admin.identity.create_project(name=uniq("epf-proj"), domain_id="default")
    password = "pw-" + uuid.uuid4().hex
    user = admin.identity.create_user(name=uniq("epf-user"), password=password, domain_id="default")
    admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role(role))
    return project, user, password


def project_token(cloud, user, password, project):
    """(token, body) of a password token scoped to project, by plain HTTP (the catalog may hide
    the identity endpoint, so the SDK's discovery would not work with it)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user.id, "password": password}}}, "scope": {"project": {"id": project.id}}}}
    r = requests.post(cloud.auth_url + "/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"], r.json()


def catalog_ids(token_body):
    return {e["id"] for s in token_body["token"]["catalog"] for e in s["endpoints"]}


@pytest.fixture(scope="module")
def member(cloud, admin):
    project, user, password = user_in_new_project(admin)
    token, _ = project_token(cloud, user, password, project)
    yield Api(cloud, token)
    admin.identity.delete_user(user)
    admin.identity.delete_project(project)


# --- endpoint groups ----------------------------------------------------------------------------

def test_endpoint_group_cli_lifecycle(cloud, world, tmp_path):
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"service_id": world["service"].id, "interface": "public"}))
    name = uniq("eg")
    g = cloud.cli_json("endpoint", "group", "create", "--description", "first", name, str(filters))
    assert g["name"] == name and g["description"] == "first"
    assert g["filters"] == {"service_id": world["service"].id, "interface": "public"}
    assert g["id"] in [x["ID"] for x in cloud.cli_json("endpoint", "group", "list")]
    shown = cloud.cli_json("endpoint", "group", "show", g["id"])
    assert shown["name"] == name and shown["filters"]["interface"] == "public"

    filters.write_text(json.dumps({"interface": "internal"}))
    cloud.cli("endpoint", "group", "set", "--name", name + "-2", "--filters", str(filters), g["id"],
              check=True)
    shown = cloud.cli_json("endpoint", "group", "show", g["id"])
    assert shown["name"] == name + "-2" and shown["filters"] == {"interface": "internal"}

    cloud.cli("endpoint", "group", "delete", g["id"], check=True)
    assert g["id"] not in [x["ID"] for x in cloud.cli_json("endpoint", "group", "list")]
    assert cloud.cli("endpoint", "group", "show", g["id"]).returncode != 0


def test_endpoint_group_api_shape_and_validation(cloud, api, world):
    sid = world["service"].id
    r = api("POST", "/OS-EP-FILTER/endpoint_groups",
            {"endpoint_group": {"name": uniq("eg"), "filters": {"service_id": sid}}})
    assert r.status_code == 201, r.text
    g = r.json()["endpoint_group"]
    assert g["description"] is None
    assert g["links"]["self"] == f"{cloud.auth_url}/OS-EP-FILTER/endpoint_groups/{g['id']}"
    try:
        listed = api("GET", "/OS-EP-FILTER/endpoint_groups").json()["endpoint_groups"]
        assert g in listed
        by_name = api("GET", "/OS-EP-FILTER/endpoint_groups", name=g["name"]).json()["endpoint_groups"]
        assert [x["id"] for x in by_name] == [g["id"]]
        assert api("HEAD", f"/OS-EP-FILTER/endpoint_groups/{g['id']}").status_code == 200

        # its endpoints: every endpoint of the service, whatever the interface
        r = api("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/endpoints")
        assert r.status_code == 200
        assert {e["id"] for e in r.json()["endpoints"]} == {e.id for e in world["endpoints"].values()}

        for bad in ({"name": "x", "filters": {}}, {"name": "x", "filters": {"url": "u"}},
                    {"filters": {"interface": "public"}}, {"name": "x"},
                    {"name": "x", "filters": "public"}, {"name": " ", "filters": {"interface": "a"}}):
            r = api("POST", "/OS-EP-FILTER/endpoint_groups", {"endpoint_group": bad})
            assert r.status_code == 400, (bad, r.text)
        r = api("PATCH", f"/OS-EP-FILTER/endpoint_groups/{g['id']}", {"endpoint_group": {}})
        assert r.status_code == 400
        r = api("PATCH", f"/OS-EP-FILTER/endpoint_groups/{g['id']}", {"endpoint_group": {"id": "x"}})
        assert r.status_code == 400
        r = api("PATCH", f"/OS-EP-FILTER/endpoint_groups/{g['id']}",
                {"endpoint_group": {"filters": {"region": "x"}}})
        assert r.status_code == 400
        r = api("PATCH", f"/OS-EP-FILTER/endpoint_groups/{g['id']}",
                {"endpoint_group": {"description": "d"}})
        assert r.status_code == 200 and r.json()["endpoint_group"]["description"] == "d"
        assert r.json()["endpoint_group"]["filters"] == {"service_id": sid}
    finally:
        assert api("DELETE", f"/OS-EP-FILTER/endpoint_groups/{g['id']}").status_code == 204
    r = api("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == f"Could not find Endpoint Group: {g['id']}."
    assert api("DELETE", f"/OS-EP-FILTER/endpoint_groups/{g['id']}").status_code == 404


# --- project associations and the filtered catalog ----------------------------------------------

def test_endpoint_add_project_filters_catalog(cloud, admin, api, world):
    project, user, password = user_in_new_project(admin)
    eps = world["endpoints"]
    try:
        _, body = project_token(cloud, user, password, project)
        full = catalog_ids(body)
        assert {e.id for e in eps.values()} <= full            # no association: everything

        cloud.cli("endpoint", "add", "project", eps["internal"].id, project.id, check=True)
        listed = cloud.cli_json("endpoint", "list", "--project", project.id)
        assert [e["ID"] for e in listed] == [eps["internal"].id]
        _, body = project_token(cloud, user, password, project)
        assert catalog_ids(body) == {eps["internal"].id}
        # services left without endpoints are dropped, as Keystone does when it filters
        assert [s["id"] for s in body["token"]["catalog"]] == [world["service"].id]

        # the same through the catalog API and token validation
        token, _ = project_token(cloud, user, password, project)
        r = requests.get(cloud.auth_url + "/auth/catalog", headers={"X-Auth-Token": token}, timeout=30)
        assert {e["id"] for s in r.json()["catalog"] for e in s["endpoints"]} == {eps["internal"].id}
        r = requests.get(cloud.auth_url + "/auth/tokens", timeout=30,
                         headers={"X-Auth-Token": admin.auth_token, "X-Subject-Token": token})
        assert catalog_ids(r.json()) == {eps["internal"].id}

        # the admin's own (unassociated) project still sees the whole catalog
        r = requests.get(cloud.auth_url + "/auth/catalog", headers={"X-Auth-Token": admin.auth_token},
                         timeout=30)
        assert {e.id for e in eps.values()} <= {e["id"] for s in r.json()["catalog"] for e in s["endpoints"]}

        # check, list the projects of the endpoint, duplicate, remove
        path = f"/OS-EP-FILTER/projects/{project.id}/endpoints/{eps['internal'].id}"
        assert api("HEAD", path).status_code == 204
        assert api("GET", path).status_code == 204
        r = api("PUT", path)
        assert r.status_code == 409
        assert r.json()["error"]["message"] == ("Conflict occurred attempting to store project_endpoint"
                                                " - Duplicate entry.")
        r = api("GET", f"/OS-EP-FILTER/endpoints/{eps['internal'].id}/projects")
        assert [p["id"] for p in r.json()["projects"]] == [project.id]
        assert api("HEAD", f"/OS-EP-FILTER/projects/{project.id}/endpoints/{eps['admin'].id}").status_code == 404
        assert api("PUT", f"/OS-EP-FILTER/projects/{project.id}/endpoints/nope").status_code == 404
        assert api("PUT", f"/OS-EP-FILTER/projects/nope/endpoints/{eps['admin'].id}").status_code == 404

        cloud.cli("endpoint", "remove", "project", eps["internal"].id, project.id, check=True)
        _, body = project_token(cloud, user, password, project)
        assert catalog_ids(body) == full
        r = api("DELETE", path)
        assert r.status_code == 404
        assert r.json()["error"]["message"] == (f"Endpoint {eps['internal'].id} not found in project "
                                                f"{project.id}")
    finally:
        admin.identity.delete_user(user)
        admin.identity.delete_project(project)


def test_endpoint_group_project_filters_catalog(cloud, admin, api, world, tmp_path):
    project, user, password = user_in_new_project(admin)
    eps = world["endpoints"]
    filters = tmp_path / "f.json"
    filters.write_text(json.dumps({"service_id": world["service"].id, "interface": "admin"}))
    g = cloud.cli_json("endpoint", "group", "create", uniq("eg"), str(filters))
    try:
        cloud.cli("endpoint", "group", "add", "project", g["id"], project.id, check=True)
        _, body = project_token(cloud, user, password, project)
        assert catalog_ids(body) == {eps["admin"].id}

        r = api("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{project.id}")
        assert r.status_code == 200
        assert r.json()["project_endpoint_group"] == {
            "endpoint_group_id": g["id"], "project_id": project.id,
            "links": {"self": f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{project.id}"}}
        assert api("HEAD", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{project.id}").status_code == 200
        r = api("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects")
        assert [p["id"] for p in r.json()["projects"]] == [project.id]
        r = api("GET", f"/OS-EP-FILTER/projects/{project.id}/endpoint_groups")
        assert [x["id"] for x in r.json()["endpoint_groups"]] == [g["id"]]
        assert [x["ID"] for x in cloud.cli_json("endpoint", "group", "list", "--project", project.id)] == [g["id"]]
        assert api("PUT", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{project.id}").status_code == 409

        # a direct association adds to what the group selects
        assert api("PUT", f"/OS-EP-FILTER/projects/{project.id}/endpoints/{eps['public'].id}").status_code == 204
        r = api("GET", f"/OS-EP-FILTER/projects/{project.id}/endpoints")
        assert {e["id"] for e in r.json()["endpoints"]} == {eps["admin"].id, eps["public"].id}
        _, body = project_token(cloud, user, password, project)
        assert catalog_ids(body) == {eps["admin"].id, eps["public"].id}
        urls = {e["url"] for s in body["token"]["catalog"] for e in s["endpoints"]}
        assert f"http://pub.example/v1/{project.id}" in urls

        # changing the group's filters changes the catalog
        api("DELETE", f"/OS-EP-FILTER/projects/{project.id}/endpoints/{eps['public'].id}")
        r = api("PATCH", f"/OS-EP-FILTER/endpoint_groups/{g['id']}",
                {"endpoint_group": {"filters": {"region_id": world["child"].id}}})
        assert r.status_code == 200
        _, body = project_token(cloud, user, password, project)
        assert catalog_ids(body) == {eps["public"].id}

        cloud.cli("endpoint", "group", "remove", "project", g["id"], project.id, check=True)
        r = api("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{project.id}")
        assert r.status_code == 404
        assert r.json()["error"]["message"] == "Endpoint Group Project Association not found"
        _, body = project_token(cloud, user, password, project)
        assert {e.id for e in eps.values()} <= catalog_ids(body)
    finally:
        cloud.cli("endpoint", "group", "delete", g["id"])
        admin.identity.delete_user(user)
        admin.identity.delete_project(project)


def test_deleting_things_removes_associations(cloud, admin, api, world):
    project = admin.identity.create_project(name=uniq("epf-del"), domain_id="default")
    ep = admin.identity.create_endpoint(service_id=world["service"].id, interface="public",
                                        url="http://gone.example/")
    g = api("POST", "/OS-EP-FILTER/endpoint_groups",
            {"endpoint_group": {"name": uniq("eg"), "filters": {"interface": "public"}}}).json()["endpoint_group"]
    other = admin.identity.create_project(name=uniq("epf-keep"), domain_id="default")
    try:
        assert api("PUT", f"/OS-EP-FILTER/projects/{project.id}/endpoints/{ep.id}").status_code == 204
        assert api("PUT", f"/OS-EP-FILTER/projects/{other.id}/endpoints/{ep.id}").status_code == 204
        assert api("PUT", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{project.id}").status_code == 204
        assert api("PUT", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/{other.id}").status_code == 204

        admin.identity.delete_project(project)
        r = api("GET", f"/OS-EP-FILTER/endpoints/{ep.id}/projects")
        assert [p["id"] for p in r.json()["projects"]] == [other.id]
        r = api("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects")
        assert [p["id"] for p in r.json()["projects"]] == [other.id]
        # a project made again with the same name starts with no associations
        again = admin.identity.create_project(name=project.name, domain_id="default")
        r = api("GET", f"/OS-EP-FILTER/projects/{again.id}/endpoints")
        assert r.json()["endpoints"] == []
        admin.identity.delete_project(again)

        admin.identity.delete_endpoint(ep)
        r = api("GET", f"/OS-EP-FILTER/projects/{other.id}/endpoints")
        assert ep.id not in {e["id"] for e in r.json()["endpoints"]}
        assert api("DELETE", f"/OS-EP-FILTER/endpoint_groups/{g['id']}").status_code == 204
        r = api("GET", f"/OS-EP-FILTER/projects/{other.id}/endpoint_groups")
        assert r.status_code == 200 and r.json()["endpoint_groups"] == []
        assert api("GET", f"/OS-EP-FILTER/projects/{other.id}/endpoints").json()["endpoints"] == []
    finally:
        admin.identity.delete_project(other)
        api("DELETE", f"/OS-EP-FILTER/endpoint_groups/{g['id']}")


# --- policies -----------------------------------------------------------------------------------

def test_policy_cli_lifecycle(cloud, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text('{"compute:start": ""}')
    p = cloud.cli_json("policy", "create", "--type", "application/json", str(rules))
    assert p["type"] == "application/json" and json.loads(p["rules"]) == {"compute:start": ""}
    assert p["id"] in [x["ID"] for x in cloud.cli_json("policy", "list")]
    rules.write_text('{"compute:stop": "role:admin"}')
    cloud.cli("policy", "set", "--type", "text/json", "--rules", str(rules), p["id"], check=True)
    shown = cloud.cli_json("policy", "show", p["id"])
    assert shown["type"] == "text/json" and json.loads(shown["rules"]) == {"compute:stop": "role:admin"}
    cloud.cli("policy", "delete", p["id"], check=True)
    assert p["id"] not in [x["ID"] for x in cloud.cli_json("policy", "list")]


def test_policy_api(cloud, api):
    r = api("POST", "/policies", {"policy": {"blob": "b", "type": "t1", "x-tra": 1, "id": "mine"}})
    assert r.status_code == 201, r.text
    p = r.json()["policy"]
    assert p["id"] != "mine" and p["x_tra"] == 1          # Keystone picks the id, normalises keys
    assert p["links"]["self"] == f"{cloud.auth_url}/policies/{p['id']}"
    try:
        assert api("GET", f"/policies/{p['id']}").json()["policy"] == p
        assert p in api("GET", "/policies").json()["policies"]
        assert [x["id"] for x in api("GET", "/policies", type="t1").json()["policies"]] == [p["id"]]
        r = api("PATCH", f"/policies/{p['id']}", {"policy": {"type": "t2", "more": "m"}})
        assert r.status_code == 200
        got = r.json()["policy"]
        assert got["type"] == "t2" and got["blob"] == "b" and got["more"] == "m" and got["x_tra"] == 1
        for bad in ({"type": "t"}, {"blob": "b"}, {"blob": 1, "type": "t"},
                    {"blob": "b", "type": "t" * 256}):
            assert api("POST", "/policies", {"policy": bad}).status_code == 400, bad
        assert api("PATCH", f"/policies/{p['id']}", {"policy": {}}).status_code == 400
        r = api("PATCH", f"/policies/{p['id']}", {"policy": {"id": "other"}})
        assert r.status_code == 400 and r.json()["error"]["message"] == "Cannot change policy ID"
    finally:
        assert api("DELETE", f"/policies/{p['id']}").status_code == 204
    r = api("GET", f"/policies/{p['id']}")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == f"Could not find policy: {p['id']}."


def test_endpoint_policy_associations(cloud, api, world):
    eps, sid = world["endpoints"], world["service"].id
    parent, child = world["parent"].id, world["child"].id
    pol = [api("POST", "/policies", {"policy": {"blob": f"b{i}", "type": "t"}}).json()["policy"]
           for i in range(3)]
    base = "/policies/{}/OS-ENDPOINT-POLICY"
    try:
        # nothing associated yet
        r = api("GET", f"/endpoints/{eps['public'].id}/OS-ENDPOINT-POLICY/policy")
        assert r.status_code == 404

        # the service's policy applies to every endpoint of it
        assert api("PUT", base.format(pol[0]["id"]) + f"/services/{sid}").status_code == 204
        assert api("GET", base.format(pol[0]["id"]) + f"/services/{sid}").status_code == 204
        assert api("HEAD", base.format(pol[1]["id"]) + f"/services/{sid}").status_code == 404
        r = api("GET", base.format(pol[0]["id"]) + "/endpoints")
        assert {e["id"] for e in r.json()["endpoints"]} == {e.id for e in eps.values()}
        r = api("GET", f"/endpoints/{eps['internal'].id}/OS-ENDPOINT-POLICY/policy")
        assert r.status_code == 200 and r.json()["policy"]["id"] == pol[0]["id"]

        # a service+region policy is found from a child region, and lists the child's endpoints
        assert api("PUT", base.format(pol[1]["id"]) + f"/services/{sid}/regions/{parent}").status_code == 204
        r = api("GET", f"/endpoints/{eps['public'].id}/OS-ENDPOINT-POLICY/policy")
        assert r.json()["policy"]["id"] == pol[1]["id"]
        r = api("GET", base.format(pol[1]["id"]) + "/endpoints")
        assert [e["id"] for e in r.json()["endpoints"]] == [eps["public"].id]
        assert api("GET", base.format(pol[1]["id"]) + f"/services/{sid}/regions/{parent}").status_code == 204
        assert api("GET", base.format(pol[1]["id"]) + f"/services/{sid}/regions/{child}").status_code == 404

        # an endpoint's own policy wins
        assert api("PUT", base.format(pol[2]["id"]) + f"/endpoints/{eps['public'].id}").status_code == 204
        r = api("GET", f"/endpoints/{eps['public'].id}/OS-ENDPOINT-POLICY/policy")
        assert r.json()["policy"]["id"] == pol[2]["id"]
        # re-associating the same target moves it to the new policy
        assert api("PUT", base.format(pol[0]["id"]) + f"/endpoints/{eps['public'].id}").status_code == 204
        assert api("GET", base.format(pol[2]["id"]) + f"/endpoints/{eps['public'].id}").status_code == 404
        assert api("DELETE", base.format(pol[0]["id"]) + f"/endpoints/{eps['public'].id}").status_code == 204
        r = api("GET", f"/endpoints/{eps['public'].id}/OS-ENDPOINT-POLICY/policy")
        assert r.json()["policy"]["id"] == pol[1]["id"]

        # unknown things are 404s
        assert api("PUT", base.format("nope") + f"/services/{sid}").status_code == 404
        assert api("PUT", base.format(pol[0]["id"]) + "/endpoints/nope").status_code == 404
        assert api("PUT", base.format(pol[0]["id"]) + f"/services/{sid}/regions/nope").status_code == 404
    finally:
        for p in pol:
            api("DELETE", f"/policies/{p['id']}")
    # deleting the policies removed their associations
    r = api("GET", f"/endpoints/{eps['internal'].id}/OS-ENDPOINT-POLICY/policy")
    assert r.status_code == 404


# --- what a plain member may not do -------------------------------------------------------------

def test_member_denied(member, api, world):
    eid = world["endpoints"]["internal"].id
    g = api("POST", "/OS-EP-FILTER/endpoint_groups",
            {"endpoint_group": {"name": uniq("eg"), "filters": {"interface": "public"}}}).json()["endpoint_group"]
    p = api("POST", "/policies", {"policy": {"blob": "b", "type": "t"}}).json()["policy"]
    try:
        calls = [
            ("GET", "/OS-EP-FILTER/endpoint_groups", None),
            ("POST", "/OS-EP-FILTER/endpoint_groups",
             {"endpoint_group": {"name": "x", "filters": {"interface": "public"}}}),
            ("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}", None),
            ("PATCH", f"/OS-EP-FILTER/endpoint_groups/{g['id']}", {"endpoint_group": {"name": "y"}}),
            ("DELETE", f"/OS-EP-FILTER/endpoint_groups/{g['id']}", None),
            ("GET", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/endpoints", None),
            ("GET", f"/OS-EP-FILTER/endpoints/{eid}/projects", None),
            ("GET", "/policies", None),
            ("POST", "/policies", {"policy": {"blob": "b", "type": "t"}}),
            ("GET", f"/policies/{p['id']}", None),
            ("PATCH", f"/policies/{p['id']}", {"policy": {"type": "u"}}),
            ("DELETE", f"/policies/{p['id']}", None),
            ("PUT", f"/policies/{p['id']}/OS-ENDPOINT-POLICY/endpoints/{eid}", None),
            ("GET", f"/endpoints/{eid}/OS-ENDPOINT-POLICY/policy", None),
        ]
        for method, path, body in calls:
            r = member(method, path, body)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
        # associations are for admins only, whatever the project
        for method in ("PUT", "DELETE", "GET"):
            r = member(method, f"/OS-EP-FILTER/projects/any/endpoints/{eid}")
            assert r.status_code == 403, (method, r.text)
        assert member("PUT", f"/OS-EP-FILTER/endpoint_groups/{g['id']}/projects/any").status_code == 403
    finally:
        api("DELETE", f"/OS-EP-FILTER/endpoint_groups/{g['id']}")
        api("DELETE", f"/policies/{p['id']}")
