"""Identity resources: domains, projects (tags, hierarchy), regions, services, endpoints and the
catalog, driven with the openstack CLI, openstacksdk and plain HTTP (for exact status codes).
Includes the denials Keystone's default policy gives a plain project member."""

import uuid

import pytest

from conftest import Api, uniq


@pytest.fixture(scope="module")
def member(cloud, admin):
    """A user with the member role on its own project, and its HTTP client."""
    project = admin.identity.create_project(name=uniq("mproj"), domain_id="default")
    password = "pw-" + uuid.uuid4().hex
    user = admin.identity.create_user(name=uniq("muser"), password=password, domain_id="default",
                                      default_project_id=project.id)
    role = admin.identity.find_role("member")
    admin.identity.assign_project_role_to_user(project, user, role)
    conn = cloud.conn(username=user.name, password=password, project_name=project.name)
    yield {"conn": conn, "api": Api(cloud, conn.auth_token), "project": project, "user": user}
    admin.identity.delete_user(user)
    admin.identity.delete_project(project)


def new_project(api, **attrs):
    attrs.setdefault("name", uniq("proj"))
    r = api("POST", "/projects", {"project": attrs})
    assert r.status_code == 201, r.text
    return r.json()["project"]


def new_domain(api, **attrs):
    attrs.setdefault("name", uniq("dom"))
    r = api("POST", "/domains", {"domain": attrs})
    assert r.status_code == 201, r.text
    return r.json()["domain"]


def drop_domain(api, domain_id):
    api("PATCH", f"/domains/{domain_id}", {"domain": {"enabled": False}})
    api("DELETE", f"/domains/{domain_id}")


# --- domains ------------------------------------------------------------------------------------

def test_domain_cli_lifecycle(cloud):
    name = uniq("dom")
    d = cloud.cli_json("domain", "create", "--description", "first", name)
    assert d["name"] == name and d["enabled"] is True and d["description"] == "first"
    assert cloud.cli_json("domain", "show", name)["id"] == d["id"]
    assert d["id"] in [x["ID"] for x in cloud.cli_json("domain", "list")]
    cloud.cli("domain", "set", "--disable", "--description", "second", d["id"], check=True)
    shown = cloud.cli_json("domain", "show", d["id"])
    assert shown["enabled"] is False and shown["description"] == "second"
    cloud.cli("domain", "delete", d["id"], check=True)
    assert d["id"] not in [x["ID"] for x in cloud.cli_json("domain", "list")]


def test_domain_shape_and_filters(api):
    d = new_domain(api, description="x", color="blue")
    try:
        for key in ("id", "name", "description", "enabled", "tags", "options", "links"):
            assert key in d, key
        assert d["color"] == "blue"
        assert d["links"]["self"].endswith(f"/identity/v3/domains/{d['id']}")
        listed = api("GET", "/domains", name=d["name"]).json()["domains"]
        assert listed == [d]
        api("PATCH", f"/domains/{d['id']}", {"domain": {"enabled": False}})
        off = api("GET", "/domains", enabled="false").json()["domains"]
        assert d["id"] in [x["id"] for x in off]
        on = api("GET", "/domains", enabled="true").json()["domains"]
        assert d["id"] not in [x["id"] for x in on]
    finally:
        drop_domain(api, d["id"])


def test_domain_validation(api):
    assert api("POST", "/domains", {"domain": {"name": ""}}).status_code == 400
    assert api("POST", "/domains", {"domain": {"name": "a" * 65}}).status_code == 400
    assert api("POST", "/domains", {"domain": {"description": "no name"}}).status_code == 400
    assert api("POST", "/domains", {"domain": {"name": "x", "enabled": "True"}}).status_code == 400
    d = new_domain(api)
    try:
        r = api("POST", "/domains", {"domain": {"name": d["name"]}})
        assert r.status_code == 409, r.text
        assert api("PATCH", f"/domains/{d['id']}", {"domain": {}}).status_code == 400
    finally:
        drop_domain(api, d["id"])
    assert api("GET", f"/domains/{uuid.uuid4().hex}").status_code == 404
    assert api("DELETE", f"/domains/{uuid.uuid4().hex}").status_code == 404


def test_enabled_domain_cannot_be_deleted(api):
    d = new_domain(api)
    r = api("DELETE", f"/domains/{d['id']}")
    assert r.status_code == 403, r.text
    assert "disable it first" in r.json()["error"]["message"]
    drop_domain(api, d["id"])
    assert api("GET", f"/domains/{d['id']}").status_code == 404


def test_domain_delete_cascades(api):
    d = new_domain(api)
    parent = new_project(api, domain_id=d["id"])
    child = new_project(api, domain_id=d["id"], parent_id=parent["id"])
    user = api("POST", "/users", {"user": {"name": uniq("u"), "domain_id": d["id"]}}).json()["user"]
    group = api("POST", "/groups", {"group": {"name": uniq("g"), "domain_id": d["id"]}}).json()["group"]
    role = api("POST", "/roles", {"role": {"name": uniq("r"), "domain_id": d["id"]}}).json()["role"]
    drop_domain(api, d["id"])
    assert api("GET", f"/domains/{d['id']}").status_code == 404
    for path in (f"/projects/{parent['id']}", f"/projects/{child['id']}", f"/users/{user['id']}",
                 f"/groups/{group['id']}", f"/roles/{role['id']}"):
        assert api("GET", path).status_code == 404, path


def test_domain_immutable_option(api):
    d = new_domain(api, options={"immutable": True})
    assert d["options"] == {"immutable": True}
    r = api("PATCH", f"/domains/{d['id']}", {"domain": {"description": "nope"}})
    assert r.status_code == 403, r.text
    r = api("PATCH", f"/domains/{d['id']}", {"domain": {"options": {"immutable": False}}})
    assert r.status_code == 200, r.text
    assert api("POST", "/domains", {"domain": {"name": uniq("d"), "options": {"x": 1}}}).status_code == 400
    drop_domain(api, d["id"])


# --- projects -----------------------------------------------------------------------------------

def test_project_sdk_lifecycle(admin):
    p = admin.identity.create_project(name=uniq("proj"), description="d1", domain_id="default")
    assert p.domain_id == "default" and p.parent_id == "default" and p.is_enabled
    got = admin.identity.get_project(p.id)
    assert got.name == p.name and got.description == "d1"
    new_name = p.name + "-x"
    admin.identity.update_project(p, name=new_name, description="d2")
    got = admin.identity.get_project(p.id)
    assert got.name == new_name and got.description == "d2"
    names = [x.name for x in admin.identity.projects(domain_id="default")]
    assert got.name in names
    admin.identity.delete_project(p)
    assert admin.identity.find_project(p.id) is None


def test_project_cli(cloud):
    name = uniq("proj")
    p = cloud.cli_json("project", "create", "--domain", "default", "--description", "cli",
                       "--tag", "t1", name)
    assert p["name"] == name and p["tags"] == ["t1"]
    cloud.cli("project", "set", "--disable", name, check=True)
    assert cloud.cli_json("project", "show", p["id"])["enabled"] is False
    cloud.cli("project", "delete", p["id"], check=True)
    assert cloud.cli("project", "show", p["id"]).returncode != 0


def test_project_get_equals_list(api):
    p = new_project(api, tags=["a", "c", "b"], extra_attr="yes")
    got = api("GET", f"/projects/{p['id']}").json()["project"]
    listed = [x for x in api("GET", "/projects").json()["projects"] if x["id"] == p["id"]]
    assert listed and listed[0] == got
    for key in ("parent_id", "is_domain", "description", "links", "name", "enabled", "domain_id",
                "id", "tags", "options"):
        assert key in got, key
    assert sorted(got["tags"]) == ["a", "b", "c"] and got["extra_attr"] == "yes"
    assert got["is_domain"] is False
    api("DELETE", f"/projects/{p['id']}")


def test_project_validation_and_conflict(api):
    assert api("POST", "/projects", {"project": {"name": ""}}).status_code == 400
    assert api("POST", "/projects", {"project": {"name": "a" * 65}}).status_code == 400
    assert api("POST", "/projects", {"project": {"name": "x", "enabled": "no"}}).status_code == 400
    assert api("POST", "/projects", {"project": {"name": "x", "domain_id": "nope"}}).status_code == 400
    assert api("POST", "/projects", {"project": {"name": "x", "parent_id": "nope"}}).status_code == 400
    p = new_project(api)
    r = api("POST", "/projects", {"project": {"name": p["name"]}})
    assert r.status_code == 409, r.text
    assert api("PATCH", f"/projects/{p['id']}", {"project": {"domain_id": "other"}}).status_code == 400
    assert api("PATCH", f"/projects/{p['id']}", {"project": {"id": "other"}}).status_code == 400
    assert api("PATCH", f"/projects/{p['id']}", {"project": {}}).status_code == 400
    api("DELETE", f"/projects/{p['id']}")
    assert api("DELETE", f"/projects/{p['id']}").status_code == 404
    assert api("PATCH", f"/projects/{p['id']}", {"project": {"name": "x"}}).status_code == 404


def test_project_list_filters(api):
    d = new_domain(api)
    p1 = new_project(api, domain_id=d["id"], enabled=False)
    p2 = new_project(api, domain_id=d["id"])
    p3 = new_project(api, parent_id=p2["id"])
    assert p3["domain_id"] == d["id"]  # defaults to the parent's domain
    try:
        ids = lambda **q: {x["id"] for x in api("GET", "/projects", **q).json()["projects"]}  # noqa: E731
        assert ids(domain_id=d["id"]) == {p1["id"], p2["id"], p3["id"]}
        assert ids(domain_id=d["id"], enabled="false") == {p1["id"]}
        assert ids(parent_id=p2["id"]) == {p3["id"]}
        assert ids(parent_id=d["id"]) == {p1["id"], p2["id"]}
        assert ids(name=p2["name"]) == {p2["id"]}
    finally:
        for p in (p3, p2, p1):
            api("DELETE", f"/projects/{p['id']}")
        drop_domain(api, d["id"])


def test_project_hierarchy(api):
    root = new_project(api)
    mid = new_project(api, parent_id=root["id"])
    leaf = new_project(api, parent_id=mid["id"])
    try:
        assert root["parent_id"] == "default" and mid["parent_id"] == root["id"]
        got = api("GET", f"/projects/{leaf['id']}", parents_as_ids="").json()["project"]
        assert got["parents"] == {mid["id"]: {root["id"]: {"default": None}}}
        got = api("GET", f"/projects/{root['id']}", subtree_as_ids="").json()["project"]
        assert got["subtree"] == {mid["id"]: {leaf["id"]: None}}
        got = api("GET", f"/projects/{root['id']}", subtree_as_list="1").json()["project"]
        assert got["subtree"] == []  # filtered to projects the caller has a role on
        r = api("GET", f"/projects/{root['id']}", subtree_as_list="1", subtree_as_ids="1")
        assert r.status_code == 400
        # A project with children cannot be deleted, nor disabled while they are enabled.
        r = api("DELETE", f"/projects/{mid['id']}")
        assert r.status_code == 403 and "not a leaf" in r.json()["error"]["message"]
        r = api("PATCH", f"/projects/{mid['id']}", {"project": {"enabled": False}})
        assert r.status_code == 403, r.text
        assert api("PATCH", f"/projects/{mid['id']}", {"project": {"parent_id": "default"}}).status_code == 403
        # Disable bottom-up; then nothing can be created under a disabled branch.
        assert api("PATCH", f"/projects/{leaf['id']}", {"project": {"enabled": False}}).status_code == 200
        assert api("PATCH", f"/projects/{mid['id']}", {"project": {"enabled": False}}).status_code == 200
        r = api("POST", "/projects", {"project": {"name": uniq("p"), "parent_id": mid["id"]}})
        assert r.status_code == 400, r.text
        # ...and a child cannot be re-enabled under a disabled parent.
        assert api("PATCH", f"/projects/{leaf['id']}", {"project": {"enabled": True}}).status_code == 403
    finally:
        for p in (leaf, mid, root):
            api("DELETE", f"/projects/{p['id']}")


def test_project_depth_limit(api):
    chain = [new_project(api)]
    try:
        for _ in range(4):  # five levels of projects are allowed
            chain.append(new_project(api, parent_id=chain[-1]["id"]))
        r = api("POST", "/projects", {"project": {"name": uniq("p"), "parent_id": chain[-1]["id"]}})
        assert r.status_code == 403, r.text
        assert "Max hierarchy depth" in r.json()["error"]["message"]
    finally:
        for p in reversed(chain):
            api("DELETE", f"/projects/{p['id']}")


def test_parent_in_other_domain_is_refused(api):
    d = new_domain(api)
    parent = new_project(api)
    try:
        r = api("POST", "/projects", {"project": {"name": uniq("p"), "domain_id": d["id"],
                                                  "parent_id": parent["id"]}})
        assert r.status_code == 400, r.text
    finally:
        api("DELETE", f"/projects/{parent['id']}")
        drop_domain(api, d["id"])


def test_project_tags(api):
    p = new_project(api)
    pid = p["id"]
    try:
        assert api("PUT", f"/projects/{pid}/tags/one").status_code == 201
        assert api("GET", f"/projects/{pid}/tags/one").status_code == 204
        assert api("GET", f"/projects/{pid}/tags/two").status_code == 404
        assert api("PUT", f"/projects/{pid}/tags/one").status_code == 400  # duplicate
        assert api("PUT", f"/projects/{pid}/tags/a,b").status_code == 400
        r = api("PUT", f"/projects/{pid}/tags", {"tags": ["x", "y", "z"]})
        assert r.status_code == 200 and sorted(r.json()["tags"]) == ["x", "y", "z"], r.text
        assert sorted(api("GET", f"/projects/{pid}/tags").json()["tags"]) == ["x", "y", "z"]
        assert api("PUT", f"/projects/{pid}/tags", {"tags": ["x", "x"]}).status_code == 400
        assert api("PUT", f"/projects/{pid}/tags", {"tags": [str(i) for i in range(81)]}).status_code == 400
        assert api("PUT", f"/projects/{pid}/tags", {"tags": ["a" * 256]}).status_code == 400
        assert api("DELETE", f"/projects/{pid}/tags/x").status_code == 204
        assert api("DELETE", f"/projects/{pid}/tags/x").status_code == 404
        assert api("DELETE", f"/projects/{pid}/tags").status_code == 204
        assert api("GET", f"/projects/{pid}/tags").json()["tags"] == []
    finally:
        api("DELETE", f"/projects/{pid}")


def test_project_tag_filters(api):
    a = new_project(api, tags=["red", "big"])
    b = new_project(api, tags=["red"])
    c = new_project(api, tags=["blue"])
    mine = {a["id"], b["id"], c["id"]}
    try:
        ids = lambda **q: {x["id"] for x in api("GET", "/projects", **q).json()["projects"]} & mine  # noqa: E731
        assert ids(tags="red,big") == {a["id"]}
        assert ids(**{"tags-any": "big,blue"}) == {a["id"], c["id"]}
        assert ids(**{"not-tags": "red,big"}) == {b["id"], c["id"]}
        assert ids(**{"not-tags-any": "big,blue"}) == {b["id"]}
    finally:
        for p in (a, b, c):
            api("DELETE", f"/projects/{p['id']}")


def test_project_acting_as_domain(api):
    r = api("POST", "/projects", {"project": {"name": uniq("isdom"), "is_domain": True, "domain_id": None}})
    assert r.status_code == 201, r.text
    p = r.json()["project"]
    assert p["is_domain"] is True and p["domain_id"] is None and p["parent_id"] is None
    assert p["id"] in [x["id"] for x in api("GET", "/projects", is_domain="true").json()["projects"]]
    assert p["id"] not in [x["id"] for x in api("GET", "/projects").json()["projects"]]
    assert p["id"] in [x["id"] for x in api("GET", "/domains").json()["domains"]]
    assert api("GET", f"/projects/{p['id']}").json()["project"]["is_domain"] is True
    assert api("DELETE", f"/projects/{p['id']}").status_code == 403  # still enabled
    r = api("PATCH", f"/projects/{p['id']}", {"project": {"enabled": False}})
    assert r.status_code == 200 and r.json()["project"]["enabled"] is False, r.text
    assert api("DELETE", f"/projects/{p['id']}").status_code == 204
    assert api("GET", f"/domains/{p['id']}").status_code == 404


# --- denials for a plain member -----------------------------------------------------------------

def test_member_denials(api, member):
    mapi, own = member["api"], member["project"]
    assert mapi("GET", f"/projects/{own.id}").status_code == 200
    assert mapi("GET", f"/projects/{own.id}/tags").status_code == 200
    other = new_project(api)
    try:
        assert mapi("GET", f"/projects/{other['id']}").status_code == 403
        assert mapi("GET", "/projects").status_code == 403
        assert mapi("POST", "/projects", {"project": {"name": uniq("p")}}).status_code == 403
        assert mapi("PATCH", f"/projects/{own.id}", {"project": {"description": "x"}}).status_code == 403
        assert mapi("DELETE", f"/projects/{other['id']}").status_code == 403
        assert mapi("PUT", f"/projects/{own.id}/tags/t").status_code == 403
        # A nonexistent project is 403 too (policy runs before the lookup).
        assert mapi("GET", f"/projects/{uuid.uuid4().hex}").status_code == 403
    finally:
        api("DELETE", f"/projects/{other['id']}")
    assert mapi("GET", "/domains").status_code == 403
    assert mapi("POST", "/domains", {"domain": {"name": uniq("d")}}).status_code == 403
    assert mapi("GET", "/domains/default").status_code == 200  # its project's domain
    assert mapi("GET", "/services").status_code == 403
    assert mapi("GET", "/endpoints").status_code == 403
    assert mapi("POST", "/regions", {"region": {}}).status_code == 403
    assert mapi("GET", "/regions").status_code == 200  # anyone may read regions


def test_member_cli_cannot_create_project(cloud, member):
    conn = member["conn"]
    with pytest.raises(Exception):
        conn.identity.create_project(name=uniq("p"), domain_id="default")


# --- regions ------------------------------------------------------------------------------------

def test_region_lifecycle(cloud, api):
    top = cloud.cli_json("region", "create", "--description", "top", uniq("reg"))
    sub = cloud.cli_json("region", "create", "--parent-region", top["region"], uniq("reg"))
    assert sub["parent_region"] == top["region"]
    listed = api("GET", "/regions", parent_region_id=top["region"]).json()["regions"]
    assert [x["id"] for x in listed] == [sub["region"]]
    # A region cannot become its own ancestor.
    r = api("PATCH", f"/regions/{top['region']}", {"region": {"parent_region_id": sub["region"]}})
    assert r.status_code == 400, r.text
    r = api("PATCH", f"/regions/{sub['region']}", {"region": {"description": "sub!"}})
    assert r.status_code == 200 and r.json()["region"]["description"] == "sub!"
    assert r.json()["region"]["parent_region_id"] == top["region"]
    # Deleting a region takes its children along.
    cloud.cli("region", "delete", top["region"], check=True)
    assert api("GET", f"/regions/{sub['region']}").status_code == 404


def test_region_put_and_errors(api):
    rid = uniq("put")
    r = api("PUT", f"/regions/{rid}", {"region": {"description": "by put"}})
    assert r.status_code == 201 and r.json()["region"]["id"] == rid, r.text
    assert api("PUT", f"/regions/{rid}", {"region": {}}).status_code == 409
    assert api("PUT", f"/regions/{uniq('x')}", {"region": {"id": "other"}}).status_code == 400
    assert api("POST", "/regions", {"region": {"parent_region_id": "missing"}}).status_code == 404
    r = api("POST", "/regions", {"region": {"description": "generated id"}})
    assert r.status_code == 201 and len(r.json()["region"]["id"]) == 32
    api("DELETE", f"/regions/{r.json()['region']['id']}")
    api("DELETE", f"/regions/{rid}")
    assert api("DELETE", f"/regions/{rid}").status_code == 404


# --- services and endpoints ---------------------------------------------------------------------

def test_service_lifecycle(cloud, api):
    stype = uniq("type")
    s = cloud.cli_json("service", "create", "--name", uniq("svc"), "--description", "desc", stype)
    assert s["type"] == stype and s["enabled"] is True and s["description"] == "desc"
    listed = api("GET", "/services", type=stype).json()["services"]
    assert [x["id"] for x in listed] == [s["id"]]
    assert [x["id"] for x in api("GET", "/services", name=s["name"]).json()["services"]] == [s["id"]]
    r = api("PATCH", f"/services/{s['id']}", {"service": {"description": "new", "enabled": False}})
    assert r.status_code == 200, r.text
    got = api("GET", f"/services/{s['id']}").json()["service"]
    assert got["description"] == "new" and got["enabled"] is False and got["name"] == s["name"]
    assert api("POST", "/services", {"service": {"name": "no type"}}).status_code == 400
    cloud.cli("service", "delete", s["id"], check=True)
    assert api("GET", f"/services/{s['id']}").status_code == 404


def test_endpoint_lifecycle(cloud, api):
    s = api("POST", "/services", {"service": {"type": uniq("type"), "name": uniq("svc")}}).json()["service"]
    region = uniq("reg")
    # The legacy "region" field creates the region when it does not exist.
    r = api("POST", "/endpoints", {"endpoint": {"service_id": s["id"], "interface": "public",
                                                "url": "http://example.test:1/a", "region": region}})
    assert r.status_code == 201, r.text
    ep = r.json()["endpoint"]
    assert ep["region"] == region and ep["region_id"] == region and ep["enabled"] is True
    assert api("GET", f"/regions/{region}").status_code == 200
    cli_ep = cloud.cli_json("endpoint", "create", "--region", region, s["id"], "internal",
                            "http://example.test:2/b")
    assert cli_ep["interface"] == "internal"
    ids = lambda **q: {x["id"] for x in api("GET", "/endpoints", **q).json()["endpoints"]}  # noqa: E731
    assert ids(service_id=s["id"]) == {ep["id"], cli_ep["id"]}
    assert ids(service_id=s["id"], interface="internal") == {cli_ep["id"]}
    assert ids(region_id=region) == {ep["id"], cli_ep["id"]}
    r = api("PATCH", f"/endpoints/{ep['id']}", {"endpoint": {"url": "http://example.test:3/c",
                                                             "enabled": False}})
    assert r.status_code == 200 and r.json()["endpoint"]["enabled"] is False, r.text
    assert api("PATCH", f"/endpoints/{ep['id']}", {"endpoint": {"enabled": "True"}}).status_code == 400
    # A region with endpoints cannot be deleted.
    assert api("DELETE", f"/regions/{region}").status_code == 403
    # Deleting the service deletes its endpoints.
    assert api("DELETE", f"/services/{s['id']}").status_code == 204
    assert api("GET", f"/endpoints/{ep['id']}").status_code == 404
    assert api("DELETE", f"/regions/{region}").status_code == 204


def test_endpoint_validation(api):
    s = api("POST", "/services", {"service": {"type": uniq("type")}}).json()["service"]
    base = {"service_id": s["id"], "interface": "public", "url": "http://example.test/"}
    try:
        for bad in ({"interface": "private"}, {"url": "not a url"}, {"enabled": "False"},
                    {"url": "http://example.test/$(nope)s"}, {"region_id": "no-such-region"},
                    {"service_id": "no-such-service"}):
            r = api("POST", "/endpoints", {"endpoint": dict(base, **bad)})
            assert r.status_code == 400, (bad, r.text)
        r = api("POST", "/endpoints", {"endpoint": {"interface": "public", "url": "http://x/"}})
        assert r.status_code == 400
    finally:
        api("DELETE", f"/services/{s['id']}")


def test_catalog_list(cloud, api):
    s = api("POST", "/services", {"service": {"type": uniq("type"), "name": uniq("cat")}}).json()["service"]
    on = api("POST", "/endpoints", {"endpoint": {"service_id": s["id"], "interface": "public",
                                                 "url": "http://example.test:9/on"}}).json()["endpoint"]
    api("POST", "/endpoints", {"endpoint": {"service_id": s["id"], "interface": "admin",
                                            "url": "http://example.test:9/off", "enabled": False}})
    try:
        cat = cloud.cli_json("catalog", "list")
        by_name = {x["Name"]: x for x in cat}
        assert "identity" in [x["Type"] for x in cat]
        entry = by_name[s["name"]]
        urls = [e["url"] for e in entry["Endpoints"]]
        assert urls == ["http://example.test:9/on"], entry
        conn = cloud.conn()
        raw = [x for x in conn.session.auth.get_access(conn.session).service_catalog.catalog
               if x["id"] == s["id"]]
        assert raw and raw[0]["type"] == s["type"] and raw[0]["endpoints"][0]["id"] == on["id"]
        assert set(raw[0]["endpoints"][0]) >= {"id", "interface", "region_id", "region", "url"}
        # A disabled service leaves the catalog.
        api("PATCH", f"/services/{s['id']}", {"service": {"enabled": False}})
        assert s["name"] not in [x["Name"] for x in cloud.cli_json("catalog", "list")]
    finally:
        api("DELETE", f"/services/{s['id']}")


def test_catalog_substitutes_project_id(cloud, api, admin):
    s = api("POST", "/services", {"service": {"type": uniq("type"), "name": uniq("sub")}}).json()["service"]
    api("POST", "/endpoints", {"endpoint": {"service_id": s["id"], "interface": "public",
                                            "url": "http://example.test/v1/$(project_id)s"}})
    try:
        entry = [x for x in cloud.cli_json("catalog", "list") if x["Name"] == s["name"]]
        assert entry and entry[0]["Endpoints"][0]["url"] == \
            f"http://example.test/v1/{admin.current_project_id}"
    finally:
        api("DELETE", f"/services/{s['id']}")
