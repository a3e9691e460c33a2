"""Glance v2 metadata definitions (metadefs) against a live monostack: the JSON schemas,
resource types, namespaces (CRUD, list filters and pagination, ?resource_type= prefixes, the
protected flag, conflicts), objects, properties, tags and resource-type associations, what a
namespace's delete takes with it, glanceclient's metadef managers, and what non-admins may not
see or do (writes are admin-only, private namespaces of other projects are invisible)."""

import glanceclient
import pytest

from conftest import ImageApi, project_user, uniq

NS = "/v2/metadefs/namespaces"


@pytest.fixture(scope="module")
def img(cloud, admin):
    """ImageApi with the admin token, asking for JSON errors."""
    api = ImageApi(cloud, admin.auth_token)
    api.headers["Accept"] = "application/json"
    return api


@pytest.fixture
def ns(img):
    """A new public namespace (removed afterwards, unprotecting it first)."""
    made = []

    def make(**attrs):
        attrs.setdefault("namespace", uniq("ns"))
        attrs.setdefault("visibility", "public")
        r = img("POST", NS, attrs)
        assert r.status_code == 201, r.text
        made.append(attrs["namespace"])
        return r.json()

    yield make
    for name in made:
        r = img("GET", f"{NS}/{name}")
        if r.status_code == 200:
            body = r.json()
            if body.get("protected"):
                img("PUT", f"{NS}/{name}", {"namespace": name, "protected": False,
                                            "visibility": body["visibility"]})
            img("DELETE", f"{NS}/{name}")


@pytest.fixture(scope="module")
def member(cloud, admin):
    """A project with a plain member user (module scope)."""
    u = project_user(cloud, admin)
    u["image"].headers["Accept"] = "application/json"
    yield u
    u["cleanup"]()


def message(r):
    return r.json()["message"]


# --- schemas and resource types ----------------------------------------------------------------

SCHEMA_NAMES = {
    "namespace": "namespace", "namespaces": "namespaces",
    "resource_type": "resource_type_association",
    "resource_types": "resource_type_associations",
    "object": "object", "objects": "objects", "property": "property",
    "properties": "properties", "tag": "tag", "tags": "tags",
}


@pytest.mark.parametrize("path", sorted(SCHEMA_NAMES))
def test_schemas(img, path):
    r = img("GET", f"/v2/schemas/metadefs/{path}")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["name"] == SCHEMA_NAMES[path]
    assert "properties" in s
    if path in ("namespace", "object", "property", "tag", "resource_type"):
        assert s["additionalProperties"] is False
    if path.endswith("s") and path not in ("properties",):
        items = s["properties"][s["name"]]
        assert items["type"] == "array"
        assert {l["rel"] for l in s["links"]} == {"first", "next", "describedby"}


def test_schema_details(img):
    ns_schema = img("GET", "/v2/schemas/metadefs/namespace").json()
    assert ns_schema["required"] == ["namespace"]
    assert ns_schema["properties"]["visibility"]["enum"] == ["public", "private"]
    assert ns_schema["properties"]["properties"] == {"$ref": "#/definitions/property"}
    assert set(ns_schema["definitions"]) == {
        "positiveInteger", "positiveIntegerDefault0", "stringArray", "property"}
    prop = img("GET", "/v2/schemas/metadefs/property").json()
    assert sorted(prop["required"]) == ["name", "title", "type"]
    assert prop["definitions"]["stringArray"]["minItems"] == 1
    props = img("GET", "/v2/schemas/metadefs/properties").json()
    inner = props["properties"]["properties"]
    assert inner["type"] == "object"
    assert sorted(inner["additionalProperties"]["required"]) == ["title", "type"]
    assert "definitions" not in inner["additionalProperties"]
    assert "definitions" in props
    assert img("GET", "/v2/schemas/metadefs/nothing").status_code == 404


def test_resource_types_known(img, member):
    body = img("GET", "/v2/metadefs/resource_types").json()
    names = [t["name"] for t in body["resource_types"]]
    assert names[0] == "OS::Glance::Image"
    for n in ("OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate", "OS::Nova::Server"):
        assert n in names
    assert all(t["created_at"].endswith("Z") for t in body["resource_types"])
    # readers may list them too
    r = member["image"]("GET", "/v2/metadefs/resource_types")
    assert r.status_code == 200 and r.json() == body


# --- namespaces --------------------------------------------------------------------------------

def test_namespace_create_show_update_delete(img, ns):
    name = uniq("ns")
    created = ns(namespace=name, display_name="Disp", description="About it",
                 resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}],
                 properties={"cpu_policy": {"title": "CPU policy", "type": "string",
                                            "enum": ["shared", "dedicated"]}},
                 objects=[{"name": "numa", "required": ["nodes"],
                           "properties": {"nodes": {"title": "Nodes", "type": "integer"}}}],
                 tags=[{"name": "t1"}, {"name": "t2"}])
    assert created["namespace"] == name
    assert created["visibility"] == "public" and created["protected"] is False
    assert created["self"] == f"{NS}/{name}"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    assert created["tags"] == [{"name": "t1"}, {"name": "t2"}]

    shown = img("GET", f"{NS}/{name}").json()
    assert shown["display_name"] == "Disp" and shown["description"] == "About it"
    assert [o["name"] for o in shown["objects"]] == ["numa"]
    assert shown["objects"][0]["required"] == ["nodes"]
    assert shown["objects"][0]["self"] == f"{NS}/{name}/objects/numa"
    assert list(shown["properties"]) == ["cpu_policy"]
    assert [t["name"] for t in shown["tags"]] == ["t1", "t2"]
    assert shown["resource_type_associations"][0]["prefix"] == "hw_"

    prefixed = img("GET", f"{NS}/{name}", resource_type="OS::Glance::Image").json()
    assert list(prefixed["properties"]) == ["hw_cpu_policy"]
    assert prefixed["objects"][0]["required"] == ["hw_nodes"]
    assert list(prefixed["objects"][0]["properties"]) == ["hw_nodes"]

    # PUT replaces: what is left out returns to its default
    r = img("PUT", f"{NS}/{name}", {"namespace": name, "description": "new"})
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["visibility"] == "private" and up["description"] == "new"
    assert "display_name" not in up

    renamed = uniq("renamed")
    r = img("PUT", f"{NS}/{name}", {"namespace": renamed, "visibility": "public"})
    assert r.status_code == 200 and r.json()["namespace"] == renamed
    assert img("GET", f"{NS}/{name}").status_code == 404
    moved = img("GET", f"{NS}/{renamed}").json()
    assert [o["name"] for o in moved["objects"]] == ["numa"]   # contents follow the rename

    assert img("DELETE", f"{NS}/{renamed}").status_code == 204
    r = img("GET", f"{NS}/{renamed}")
    assert r.status_code == 404
    assert message(r) == f"Metadata definition namespace={renamed} was not found."


def test_namespace_conflicts_and_protection(img, ns):
    a = ns(protected=True)["namespace"]
    b = ns()["namespace"]
    r = img("POST", NS, {"namespace": a})
    assert r.status_code == 409
    assert message(r) == f"The metadata definition namespace={a} already exists."
    r = img("PUT", f"{NS}/{b}", {"namespace": a})
    assert r.status_code == 409

    r = img("DELETE", f"{NS}/{a}")
    assert r.status_code == 403
    assert message(r) == f"Metadata definition namespace {a} is protected and cannot be deleted."
    for what in ("objects", "properties", "tags"):
        assert img("DELETE", f"{NS}/{a}/{what}").status_code == 403
    assert img("POST", f"{NS}/{a}/objects", {"name": "o"}).status_code == 201
    r = img("DELETE", f"{NS}/{a}/objects/o")
    assert r.status_code == 403
    assert message(r) == "Metadata definition object o is protected and cannot be deleted."
    assert img("POST", f"{NS}/{a}/tags/t").status_code == 201
    assert img("DELETE", f"{NS}/{a}/tags/t").status_code == 403

    r = img("PUT", f"{NS}/{a}", {"namespace": a, "protected": False, "visibility": "public"})
    assert r.status_code == 200 and r.json()["protected"] is False
    assert img("DELETE", f"{NS}/{a}").status_code == 204


@pytest.mark.parametrize("body,status,text", [
    (None, 400, "Body expected in request."),
    ({"namespace": "x", "self": "/x"}, 403, "Attribute 'self' is read-only."),
    ({"namespace": "x", "created_at": "now"}, 403, "Attribute 'created_at' is read-only."),
    ({"display_name": "x"}, 400, "'namespace' is a required property"),
    ({"namespace": "x", "visibility": "shared"}, 400, "'shared' is not one of"),
    ({"namespace": "x", "bogus": 1}, 400, "Additional properties are not allowed"),
    ({"namespace": "x" * 81}, 400, "is too long"),
    ({"namespace": "x", "protected": "yes"}, 400, "is not of type 'boolean'"),
    ({"namespace": "x", "properties": {"p": {"type": "string"}}}, 400,
     "'title' is a required property"),
    ({"namespace": "x", "properties": {"p": {"title": "P", "type": "strin"}}}, 400,
     "is not one of"),
])
def test_namespace_create_refusals(img, body, status, text):
    name = uniq("refused")
    if body and body.get("namespace") == "x":
        body = dict(body, namespace=name)
    r = img("POST", NS, body)
    assert r.status_code == status, r.text
    assert text in message(r)
    assert img("GET", f"{NS}/{name}").status_code == 404


def test_namespace_list_filters_and_pages(img, ns):
    rtype = uniq("OS::Test::Kind")
    names = sorted(uniq("lst") for _ in range(3))
    for n in names:
        ns(namespace=n, resource_type_associations=[{"name": rtype}])
    private = ns(visibility="private", resource_type_associations=[{"name": rtype}])["namespace"]

    body = img("GET", NS, resource_types=rtype).json()
    got = [n["namespace"] for n in body["namespaces"]]
    assert sorted(got) == sorted(names + [private])
    assert body["schema"] == "/v2/schemas/metadefs/namespaces"
    assert body["first"].startswith("/v2/metadefs/namespaces?resource_types=")
    assert all(n["resource_type_associations"][0]["name"] == rtype for n in body["namespaces"])

    pub = img("GET", NS, resource_types=rtype, visibility="public").json()["namespaces"]
    assert sorted(n["namespace"] for n in pub) == names

    # sorted by name, two at a time, following next
    seen, params = [], {"resource_types": rtype, "sort_key": "namespace", "sort_dir": "asc",
                        "limit": "2"}
    for _ in range(5):
        page = img("GET", NS, **params).json()
        seen += [n["namespace"] for n in page["namespaces"]]
        if "next" not in page:
            break
        assert "marker=" in page["next"]
        params["marker"] = page["namespaces"][-1]["namespace"]
    assert seen == sorted(names + [private])

    desc = img("GET", NS, resource_types=rtype, sort_key="namespace", sort_dir="desc").json()
    assert [n["namespace"] for n in desc["namespaces"]] == sorted(names + [private], reverse=True)

    assert img("GET", NS, sort_dir="up").status_code == 400
    assert img("GET", NS, visibility="shared").status_code == 400
    assert img("GET", NS, limit="-1").status_code == 400
    assert img("GET", NS, limit="x").status_code == 400
    assert img("GET", NS, marker=uniq("missing")).status_code == 404
    assert img("GET", NS, resource_types=uniq("OS::None")).json()["namespaces"] == []


def test_namespace_list_many(img, ns):
    """A page larger than one database round of associations still carries every namespace's."""
    rtype = uniq("OS::Test::Many")
    names = {uniq("many") for _ in range(60)}
    for n in names:
        ns(namespace=n, resource_type_associations=[{"name": rtype, "prefix": "m:"}])
    body = img("GET", NS, resource_types=rtype, limit="100").json()
    assert {n["namespace"] for n in body["namespaces"]} == names
    assert all(n["resource_type_associations"] == [
        {"name": rtype, "prefix": "m:", "created_at": n["created_at"],
         "updated_at": n["created_at"]}] for n in body["namespaces"])
    assert "next" not in body


def test_namespace_delete_takes_contents(img, ns):
    name = uniq("ns")
    ns(namespace=name, objects=[{"name": "o1"}], tags=[{"name": "t"}],
       properties={"p": {"title": "P", "type": "string"}},
       resource_type_associations=[{"name": "OS::Nova::Flavor"}])
    assert img("DELETE", f"{NS}/{name}").status_code == 204
    fresh = ns(namespace=name)
    shown = img("GET", f"{NS}/{name}").json()
    for key in ("objects", "tags", "properties", "resource_type_associations"):
        assert key not in shown and key not in fresh
    assert img("GET", f"{NS}/{name}/objects").json()["objects"] == []
    assert img("GET", f"{NS}/{name}/tags").json()["tags"] == []
    assert img("GET", f"{NS}/{name}/properties").json()["properties"] == {}
    assert img("GET", f"{NS}/{name}/resource_types").json()["resource_type_associations"] == []


# --- objects -----------------------------------------------------------------------------------

def test_objects(img, ns):
    name = ns()["namespace"]
    base = f"{NS}/{name}/objects"
    r = img("POST", base, {"name": "obj", "description": "d", "required": ["a"],
                           "properties": {"a": {"title": "A", "type": "string", "maxLength": 5}}})
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["name"] == "obj" and o["self"] == f"{base}/obj"
    assert o["schema"] == "/v2/schemas/metadefs/object"

    r = img("POST", base, {"name": "obj"})
    assert r.status_code == 409
    assert message(r) == (f"A metadata definition object with name=obj already exists in "
                          f"namespace={name}.")
    r = img("POST", base, {"name": "bad", "properties": {"a": {"title": "A", "type": "string",
                                                               "required": []}}})
    assert r.status_code == 400          # each property is checked on its own: required non-empty
    assert img("POST", base, {"description": "no name"}).status_code == 400
    assert img("POST", base, {"name": "x", "self": "s"}).status_code == 403

    listed = img("GET", base).json()
    assert listed["schema"] == "v2/schemas/metadefs/objects"
    assert [x["name"] for x in listed["objects"]] == ["obj"]
    shown = img("GET", f"{base}/obj").json()
    assert shown["required"] == ["a"] and shown["description"] == "d"
    assert shown["properties"]["a"]["maxLength"] == 5
    assert img("GET", base, limit="0").status_code == 400

    r = img("PUT", f"{base}/obj", {"name": "obj2"})
    assert r.status_code == 200 and r.json()["name"] == "obj2"
    shown = img("GET", f"{base}/obj2").json()
    assert shown["required"] == [] and shown["properties"] == {} and "description" not in shown
    r = img("GET", f"{base}/obj")
    assert r.status_code == 404 and message(r) == "Could not find metadata object obj"

    assert img("POST", base, {"name": "other"}).status_code == 201
    assert img("PUT", f"{base}/obj2", {"name": "other"}).status_code == 409
    assert img("DELETE", f"{base}/obj2").status_code == 204
    assert img("DELETE", f"{base}/obj2").status_code == 404
    assert img("DELETE", base).status_code == 204
    assert img("GET", base).json()["objects"] == []
    r = img("GET", f"{NS}/{uniq('none')}/objects")
    assert r.status_code == 404


# --- properties --------------------------------------------------------------------------------

def test_properties(img, ns):
    name = ns(resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw:"}])["namespace"]
    base = f"{NS}/{name}/properties"
    enum = ["xen", "qemu", "kvm"]
    r = img("POST", base, {"name": "hypervisor", "title": "Hypervisor", "type": "string",
                           "enum": enum})
    assert r.status_code == 201, r.text
    assert r.json() == {"name": "hypervisor", "title": "Hypervisor", "type": "string", "enum": enum}
    assert img("POST", base, {"name": "hypervisor", "title": "t", "type": "string"}).status_code == 409
    assert img("POST", base, {"title": "t", "type": "string"}).status_code == 400
    assert img("POST", base, {"name": "n", "type": "string"}).status_code == 400
    r = img("POST", base, {"name": "n", "title": "t", "type": "string", "confidential": True})
    assert r.status_code == 400
    assert img("POST", base, {"name": "n", "title": "t", "type": "string",
                              "created_at": "x"}).status_code == 403

    assert img("GET", base).json() == {"properties": {"hypervisor": {
        "name": "hypervisor", "title": "Hypervisor", "type": "string", "enum": enum}}}
    assert img("GET", f"{base}/hypervisor").json()["title"] == "Hypervisor"
    r = img("GET", f"{base}/hw:hypervisor", resource_type="OS::Glance::Image")
    assert r.status_code == 200 and r.json()["name"] == "hypervisor"
    r = img("GET", f"{base}/hypervisor", resource_type="OS::Glance::Image")
    assert r.status_code == 404 and "does not start with the expected" in message(r)
    assert img("GET", f"{base}/hw:hypervisor", resource_type="OS::Nova::Flavor").status_code == 404

    r = img("PUT", f"{base}/hypervisor", {"name": "hv", "title": "HV", "type": "string"})
    assert r.status_code == 200 and r.json() == {"name": "hv", "title": "HV", "type": "string"}
    r = img("GET", f"{base}/hypervisor")
    assert r.status_code == 404 and message(r) == "Could not find property hypervisor"
    assert img("DELETE", f"{base}/hv").status_code == 204
    assert img("GET", base).json() == {"properties": {}}
    assert img("POST", base, {"name": "a", "title": "A", "type": "integer", "minimum": 0}).status_code == 201
    assert img("DELETE", base).status_code == 204
    assert img("GET", base).json() == {"properties": {}}


# --- tags --------------------------------------------------------------------------------------

def test_tags(img, ns):
    name = ns()["namespace"]
    base = f"{NS}/{name}/tags"
    r = img("POST", base, {"tags": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    assert r.status_code == 201 and r.json() == {"tags": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    assert sorted(t["name"] for t in img("GET", base).json()["tags"]) == ["a", "b", "c"]

    # without X-Openstack-Append the new list replaces the old one
    assert img("POST", base, {"tags": [{"name": "d"}]}).status_code == 201
    assert [t["name"] for t in img("GET", base).json()["tags"]] == ["d"]
    r = img("POST", base, {"tags": [{"name": "e"}]}, headers={"X-Openstack-Append": "true"})
    assert r.status_code == 201
    assert sorted(t["name"] for t in img("GET", base).json()["tags"]) == ["d", "e"]
    r = img("POST", base, {"tags": [{"name": "x"}, {"name": "x"}]})
    assert r.status_code == 409 and "already exists" in message(r)
    assert sorted(t["name"] for t in img("GET", base).json()["tags"]) == ["d", "e"]  # unchanged
    assert img("POST", base, {"tags": [{"nome": "x"}]}).status_code == 400

    r = img("POST", f"{base}/single")
    assert r.status_code == 201 and r.json()["name"] == "single"
    assert img("POST", f"{base}/single").status_code == 409
    assert img("POST", f"{base}/{'t' * 81}").status_code == 400
    shown = img("GET", f"{base}/single").json()
    assert shown["name"] == "single" and shown["created_at"].endswith("Z")
    r = img("PUT", f"{base}/single", {"name": "renamed"})
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    assert img("PUT", f"{base}/renamed", {"name": "d"}).status_code == 409
    r = img("GET", f"{base}/single")
    assert r.status_code == 404 and message(r) == "Could not find metadata tag single"

    page = img("GET", base, sort_key="name", sort_dir="asc", limit="2").json()["tags"]
    assert [t["name"] for t in page] == ["d", "e"]
    rest = img("GET", base, sort_key="name", sort_dir="asc", marker="e").json()["tags"]
    assert [t["name"] for t in rest] == ["renamed"]
    assert img("GET", base, marker="nope").status_code == 404

    assert img("DELETE", f"{base}/renamed").status_code == 204
    assert img("DELETE", f"{base}/renamed").status_code == 404
    assert img("DELETE", base).status_code == 204
    assert img("GET", base).json() == {"tags": []}


# --- resource type associations ----------------------------------------------------------------

def test_resource_type_associations(img, ns):
    name = ns()["namespace"]
    base = f"{NS}/{name}/resource_types"
    r = img("POST", base, {"name": "OS::Nova::Server", "prefix": "srv:",
                           "properties_target": "metadata"})
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["name"], a["prefix"], a["properties_target"]) == ("OS::Nova::Server", "srv:", "metadata")
    r = img("POST", base, {"name": "OS::Nova::Server"})
    assert r.status_code == 409
    assert message(r) == ("The metadata definition resource-type association of "
                          f"resource-type=OS::Nova::Server to namespace={name} already exists.")
    assert img("POST", base, {"prefix": "x"}).status_code == 400

    new_type = uniq("OS::Made::Up")
    assert img("POST", base, {"name": new_type}).status_code == 201
    known = [t["name"] for t in img("GET", "/v2/metadefs/resource_types").json()["resource_types"]]
    assert new_type in known
    assoc = img("GET", base).json()["resource_type_associations"]
    assert [x["name"] for x in assoc] == ["OS::Nova::Server", new_type]

    assert img("DELETE", f"{base}/OS::Nova::Server").status_code == 204
    r = img("DELETE", f"{base}/OS::Nova::Server")
    assert r.status_code == 404
    assert message(r) == "Failed to find resource type OS::Nova::Server to delete"
    assert [x["name"] for x in img("GET", base).json()["resource_type_associations"]] == [new_type]


# --- who may see and do what -------------------------------------------------------------------

def test_non_admin_reads_and_denials(img, ns, member):
    mine = member["image"]
    pub = ns(objects=[{"name": "o"}], tags=[{"name": "t"}],
             properties={"p": {"title": "P", "type": "string"}})["namespace"]
    hidden = ns(visibility="private")["namespace"]                     # owned by the admin project
    own = ns(visibility="private", owner=member["project"].id)["namespace"]

    listed = {n["namespace"] for n in mine("GET", NS, limit="1000").json()["namespaces"]}
    assert pub in listed and own in listed and hidden not in listed
    assert hidden in {n["namespace"] for n in img("GET", NS, limit="1000").json()["namespaces"]}

    assert mine("GET", f"{NS}/{pub}").status_code == 200
    assert mine("GET", f"{NS}/{own}").status_code == 200
    assert mine("GET", f"{NS}/{pub}/objects/o").status_code == 200
    assert mine("GET", f"{NS}/{pub}/tags/t").status_code == 200
    assert mine("GET", f"{NS}/{pub}/properties/p").status_code == 200

    # another project's private namespace does not exist for the member
    r = mine("GET", f"{NS}/{hidden}")
    assert r.status_code == 404
    for sub in ("objects", "properties", "tags", "resource_types"):
        assert mine("GET", f"{NS}/{hidden}/{sub}").status_code == 404
    r = mine("DELETE", f"{NS}/{hidden}")
    assert r.status_code == 404 and message(r) == f"Namespace {hidden} not found"
    assert mine("POST", f"{NS}/{hidden}/tags/x").status_code == 404

    # writes are for admins only
    r = mine("POST", NS, {"namespace": uniq("nope")})
    assert r.status_code == 403
    assert message(r) == "You are not authorized to complete add_metadef_namespace action."
    for target in (pub, own):
        checks = [
            ("PUT", f"{NS}/{target}", {"namespace": target, "visibility": "public"},
             "modify_metadef_namespace"),
            ("DELETE", f"{NS}/{target}", None, "delete_metadef_namespace"),
            ("POST", f"{NS}/{target}/objects", {"name": "x"}, "add_metadef_object"),
            ("PUT", f"{NS}/{target}/objects/o", {"name": "y"}, "modify_metadef_object"),
            ("POST", f"{NS}/{target}/properties", {"name": "x", "title": "X", "type": "string"},
             "add_metadef_property"),
            ("POST", f"{NS}/{target}/tags/x", None, "add_metadef_tag"),
            ("POST", f"{NS}/{target}/tags", {"tags": [{"name": "x"}]}, "add_metadef_tags"),
            ("DELETE", f"{NS}/{target}/tags", None, "delete_metadef_namespace"),
            ("POST", f"{NS}/{target}/resource_types", {"name": "OS::Nova::Flavor"},
             "add_metadef_resource_type_association"),
        ]
        for method, path, body, rule in checks:
            r = mine(method, path, body)
            assert r.status_code == 403, (method, path, r.text)
            assert message(r) == f"You are not authorized to complete {rule} action."
    # nothing changed
    assert [o["name"] for o in img("GET", f"{NS}/{pub}/objects").json()["objects"]] == ["o"]
    assert [t["name"] for t in img("GET", f"{NS}/{pub}/tags").json()["tags"]] == ["t"]


def test_glanceclient(cloud, admin, img):
    """python-glanceclient's metadef managers (they validate against the schemas served)."""
    gc = glanceclient.Client("2", endpoint=cloud.url + "/image", token=admin.auth_token)
    name = uniq("gc")
    try:
        created = gc.metadefs_namespace.create(namespace=name, visibility="public",
                                               display_name="From glanceclient")
        assert created["namespace"] == name
        assert name in [n["namespace"] for n in gc.metadefs_namespace.list()]
        gc.metadefs_object.create(name, name="obj",
                                  properties={"p": {"title": "P", "type": "string"}})
        assert [o["name"] for o in gc.metadefs_object.list(name)] == ["obj"]
        gc.metadefs_property.create(name, name="prop", title="Prop", type="integer")
        assert [p["name"] for p in gc.metadefs_property.list(name)] == ["prop"]
        list(gc.metadefs_tag.create_multiple(name, tags=["a", "b"]))  # a generator
        assert sorted(t["name"] for t in gc.metadefs_tag.list(name)) == ["a", "b"]
        gc.metadefs_resource_type.associate(name, name="OS::Nova::Flavor", prefix="f:")
        assert [a["name"] for a in gc.metadefs_resource_type.get(name)] == ["OS::Nova::Flavor"]
        gc.metadefs_namespace.update(name, description="changed")
        shown = gc.metadefs_namespace.get(name, resource_type="OS::Nova::Flavor")
        assert shown["description"] == "changed"
        assert list(shown["properties"]) == ["f:prop"]
    finally:
        gc.metadefs_namespace.delete(name)
    assert img("GET", f"{NS}/{name}").status_code == 404
