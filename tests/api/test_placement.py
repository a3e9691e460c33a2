"""Placement (Zed, microversions 1.0-1.39) under /placement: the version document and
microversion negotiation, resource providers (nested, generations), inventories, resource classes,
traits, aggregates, allocations with consumer generations, usages, allocation candidates, the
error body, policy (a project member gets 403, a system reader reads), race-free capacity checks,
and the real clients (openstacksdk, the openstack CLI with osc-placement).

Other services (compute) may register providers in the same cloud: every test uses names, custom
resource classes, traits and aggregates of its own and never assumes an empty list."""

import concurrent.futures
import shutil
import subprocess
import uuid

import pytest
import requests

from conftest import project_user, uniq

LATEST = "1.39"


class Placement:
    """Plain HTTP against /placement with a token; mv is the microversion (None: no header)."""

    def __init__(self, cloud, token):
        self.base = cloud.url + "/placement"
        self.token = token

    def __call__(self, method, path, body=None, mv=LATEST, headers=None, **params):
        h = {"Accept": "application/json"}
        if self.token:
            h["X-Auth-Token"] = self.token
        if mv:
            h["OpenStack-API-Version"] = f"placement {mv}"
        h.update(headers or {})
        return requests.request(method, self.base + path, json=body, params=params or None,
                                headers=h, timeout=60)

    def provider(self, name=None, parent=None, mv=LATEST):
        body = {"name": name or uniq("rp")}
        if parent:
            body["parent_provider_uuid"] = parent
        r = self("POST", "/resource_providers", body, mv=mv)
        assert r.status_code == 200, r.text
        return r.json()

    def inventory(self, rp, inventories):
        gen = self("GET", f"/resource_providers/{rp}").json()["generation"]
        r = self("PUT", f"/resource_providers/{rp}/inventories",
                 {"resource_provider_generation": gen, "inventories": inventories})
        assert r.status_code == 200, r.text
        return r.json()

    def traits(self, rp, traits):
        gen = self("GET", f"/resource_providers/{rp}").json()["generation"]
        r = self("PUT", f"/resource_providers/{rp}/traits",
                 {"resource_provider_generation": gen, "traits": traits})
        assert r.status_code == 200, r.text
        return r.json()

    def custom_class(self):
        name = "CUSTOM_" + uuid.uuid4().hex[:12].upper()
        assert self("PUT", f"/resource_classes/{name}").status_code == 201
        return name

    def custom_trait(self):
        name = "CUSTOM_T_" + uuid.uuid4().hex[:12].upper()
        assert self("PUT", f"/traits/{name}").status_code == 201
        return name

    def allocate(self, consumer, allocations, project="p", user="u", gen=None, mv=LATEST, ctype="INSTANCE"):
        body = {"allocations": {rp: {"resources": res} for rp, res in allocations.items()},
                "project_id": project, "user_id": user, "consumer_generation": gen,
                "consumer_type": ctype}
        return self("PUT", f"/allocations/{consumer}", body, mv=mv)


@pytest.fixture(scope="module")
def plc(cloud, admin):
    return Placement(cloud, admin.auth_token)


def error(r, status, code=None):
    """Checks Placement's error body and returns its detail."""
    assert r.status_code == status, r.text
    body = r.json()
    assert list(body) == ["errors"], body
    e = body["errors"][0]
    assert e["status"] == status and e["title"] and e["request_id"].startswith("req-"), e
    if code:
        assert e["code"] == code, e
    return e["detail"]


# --- version document and microversions ----------------------------------------------------------

def test_version_document_needs_no_token(cloud):
    for path in ("/placement", "/placement/"):
        r = requests.get(cloud.url + path, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json() == {"versions": [{"id": "v1.0", "max_version": "1.39", "min_version": "1.0",
                                          "status": "CURRENT",
                                          "links": [{"rel": "self", "href": ""}]}]}
        assert r.headers["OpenStack-API-Version"] == "placement 1.0"
        assert "OpenStack-API-Version" in r.headers["Vary"]


def test_catalog_has_placement(cloud, admin):
    url = admin.session.get_endpoint(service_type="placement", interface="public")
    assert url == cloud.url + "/placement"


def test_microversion_negotiation(cloud, plc):
    r = plc("GET", "/resource_providers", mv="latest")
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == "placement 1.39"
    assert "OpenStack-API-Version" in r.headers["Vary"]
    r = plc("GET", "/resource_providers", mv=None)
    assert r.headers["OpenStack-API-Version"] == "placement 1.0"
    r = plc("GET", "/resource_providers", mv=None,
            headers={"OpenStack-API-Version": "compute 2.1, placement 1.14"})
    assert r.headers["OpenStack-API-Version"] == "placement 1.14"
    r = plc("GET", "/resource_providers", mv="1.40")
    error(r, 406)
    e = r.json()["errors"][0]
    assert (e["min_version"], e["max_version"]) == ("1.0", "1.39")
    assert "Unacceptable version header: 1.40" in e["detail"]
    error(plc("GET", "/resource_providers", mv="1.x"), 400)
    # a resource that only exists from a later microversion is a plain 404 before it
    error(plc("GET", "/traits", mv="1.5"), 404)
    error(plc("GET", "/resource_classes", mv="1.1"), 404)
    error(plc("POST", "/allocations", {}, mv="1.12"), 404)
    error(plc("GET", "/allocation_candidates", mv="1.9", resources="VCPU:1"), 404)


def test_error_body_and_codes(plc):
    missing = str(uuid.uuid4())
    r = plc("GET", f"/resource_providers/{missing}", mv="1.22")
    detail = error(r, 404)
    assert "code" not in r.json()["errors"][0]          # codes appear from 1.23
    assert f"No resource provider with uuid {missing} found" in detail
    error(plc("GET", f"/resource_providers/{missing}"), 404, "placement.undefined_code")
    r = plc("PATCH", "/resource_providers")
    error(r, 405)
    assert r.headers["Allow"] == "GET, POST"
    # a body needs a content type, and JSON handlers want application/json
    r = requests.post(plc.base + "/resource_providers", data="{}",
                      headers={"X-Auth-Token": plc.token, "Content-Type": "text/plain"}, timeout=30)
    error(r, 415)
    r = requests.post(plc.base + "/resource_providers", data="{}",
                      headers={"X-Auth-Token": plc.token, "Content-Type": ""}, timeout=30)
    error(r, 400)
    r = requests.post(plc.base + "/resource_providers", data="{nope",
                      headers={"X-Auth-Token": plc.token, "Content-Type": "application/json"}, timeout=30)
    assert "Malformed JSON" in error(r, 400)
    error(plc("GET", "/resource_providers", headers={"Accept": "text/html"}), 406)


def test_requires_token(cloud):
    r = requests.get(cloud.url + "/placement/resource_providers", timeout=30)
    assert r.status_code == 401
    assert "WWW-Authenticate" in r.headers


# --- resource providers --------------------------------------------------------------------------

def test_provider_crud(plc):
    name = uniq("rp")
    r = plc("POST", "/resource_providers", {"name": name}, mv="1.19")
    assert r.status_code == 201 and not r.text
    rp_uuid = r.headers["Location"].rsplit("/", 1)[1]
    assert r.headers["Location"].startswith(plc.base + "/resource_providers/")
    rp = plc("GET", f"/resource_providers/{rp_uuid}").json()
    assert rp["name"] == name and rp["generation"] == 0
    assert rp["root_provider_uuid"] == rp_uuid and rp["parent_provider_uuid"] is None
    assert [l["rel"] for l in rp["links"]] == ["self", "inventories", "usages", "aggregates", "traits",
                                                "allocations"]
    old = plc("GET", f"/resource_providers/{rp_uuid}", mv="1.0").json()
    assert "root_provider_uuid" not in old and [l["rel"] for l in old["links"]] == [
        "self", "inventories", "usages"]
    assert "Last-Modified" in plc("GET", f"/resource_providers/{rp_uuid}", mv="1.15").headers

    # 1.20: the new provider in the body; a uuid of our choosing
    mine = str(uuid.uuid4())
    r = plc("POST", "/resource_providers", {"name": uniq("rp"), "uuid": mine.upper()})
    assert r.status_code == 200 and r.json()["uuid"] == mine

    listed = plc("GET", "/resource_providers", name=name).json()["resource_providers"]
    assert [p["uuid"] for p in listed] == [rp_uuid]
    assert [p["name"] for p in plc("GET", "/resource_providers", uuid=mine).json()["resource_providers"]]
    error(plc("GET", "/resource_providers", uuid="nope"), 400)
    error(plc("GET", "/resource_providers", bogus="1"), 400)

    # conflicts and validation
    error(plc("POST", "/resource_providers", {"name": name}), 409, "placement.duplicate_name")
    error(plc("POST", "/resource_providers", {"name": uniq("rp"), "uuid": mine}), 409,
          "placement.duplicate_name")
    error(plc("POST", "/resource_providers", {"name": "x" * 201}), 400)
    error(plc("POST", "/resource_providers", {}), 400)
    error(plc("POST", "/resource_providers", {"name": "a", "extra": 1}), 400)
    r = plc("PUT", f"/resource_providers/{rp_uuid}", {"name": name + "-new"})
    assert r.status_code == 200 and r.json()["name"] == name + "-new"
    assert r.json()["generation"] == 0          # a rename does not bump the generation
    other = plc("GET", f"/resource_providers/{mine}").json()["name"]
    error(plc("PUT", f"/resource_providers/{rp_uuid}", {"name": other}), 409, "placement.duplicate_name")

    for u in (rp_uuid, mine):
        assert plc("DELETE", f"/resource_providers/{u}").status_code == 204
    error(plc("DELETE", f"/resource_providers/{rp_uuid}"), 404)
    error(plc("GET", f"/resource_providers/{rp_uuid}"), 404)


def test_nested_providers(plc):
    root = plc.provider()
    child = plc.provider(parent=root["uuid"])
    grandchild = plc.provider(parent=child["uuid"])
    assert grandchild["root_provider_uuid"] == root["uuid"]
    assert grandchild["parent_provider_uuid"] == child["uuid"]
    tree = plc("GET", "/resource_providers", in_tree=grandchild["uuid"]).json()["resource_providers"]
    assert {p["uuid"] for p in tree} == {root["uuid"], child["uuid"], grandchild["uuid"]}
    error(plc("GET", "/resource_providers", in_tree=root["uuid"], mv="1.13"), 400)
    error(plc("POST", "/resource_providers", {"name": uniq("rp"), "parent_provider_uuid": str(uuid.uuid4())}), 400)
    error(plc("DELETE", f"/resource_providers/{root['uuid']}"), 409,
          "placement.resource_provider.cannot_delete_parent")
    # re-parenting only from 1.37, and never into its own subtree
    other = plc.provider()
    body = {"name": child["name"], "parent_provider_uuid": other["uuid"]}
    error(plc("PUT", f"/resource_providers/{child['uuid']}", body, mv="1.36"), 400)
    body["parent_provider_uuid"] = grandchild["uuid"]
    error(plc("PUT", f"/resource_providers/{child['uuid']}", body), 400)
    body["parent_provider_uuid"] = other["uuid"]
    r = plc("PUT", f"/resource_providers/{child['uuid']}", body)
    assert r.status_code == 200 and r.json()["root_provider_uuid"] == other["uuid"]
    g = plc("GET", f"/resource_providers/{grandchild['uuid']}").json()
    assert g["root_provider_uuid"] == other["uuid"]
    body["parent_provider_uuid"] = None               # un-parent: a root of its own
    r = plc("PUT", f"/resource_providers/{child['uuid']}", body)
    assert r.json()["root_provider_uuid"] == child["uuid"] and r.json()["parent_provider_uuid"] is None
    for p in (grandchild, child, root, other):
        assert plc("DELETE", f"/resource_providers/{p['uuid']}").status_code == 204


# --- inventories ---------------------------------------------------------------------------------

def test_inventories(plc):
    rp = plc.provider()["uuid"]
    path = f"/resource_providers/{rp}/inventories"
    assert plc("GET", path).json() == {"resource_provider_generation": 0, "inventories": {}}
    body = {"resource_provider_generation": 0, "inventories": {
        "VCPU": {"total": 8, "allocation_ratio": 4.0},
        "MEMORY_MB": {"total": 4096, "reserved": 512, "max_unit": 2048},
    }}
    r = plc("PUT", path, body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["resource_provider_generation"] == 1
    assert got["inventories"]["VCPU"] == {"total": 8, "reserved": 0, "min_unit": 1,
                                          "max_unit": 2147483647, "step_size": 1,
                                          "allocation_ratio": 4.0}
    # the old generation is refused
    error(plc("PUT", path, body), 409, "placement.concurrent_update")
    one = plc("GET", path + "/MEMORY_MB").json()
    assert one["reserved"] == 512 and one["resource_provider_generation"] == 1
    error(plc("GET", path + "/DISK_GB"), 404)
    r = plc("PUT", path + "/VCPU", {"resource_provider_generation": 1, "total": 16})
    assert r.status_code == 200 and r.json()["total"] == 16 and r.json()["resource_provider_generation"] == 2
    error(plc("PUT", path + "/VCPU", {"resource_provider_generation": 1, "total": 16}), 409,
          "placement.concurrent_update")
    error(plc("PUT", path + "/DISK_GB", {"resource_provider_generation": 2, "total": 1}), 400)
    r = plc("POST", path, {"resource_class": "DISK_GB", "total": 100})
    assert r.status_code == 201 and r.headers["Location"].endswith(path + "/DISK_GB")
    error(plc("POST", path, {"resource_class": "DISK_GB", "total": 100}), 409)
    # validation: bad numbers, unknown classes, reserved beyond total (== total only from 1.26)
    for bad in ({"total": 0}, {"total": "1"}, {"total": 1, "step_size": 0}, {"total": 1, "extra": 1},
                {"total": 2147483648}):
        error(plc("PUT", path, {"resource_provider_generation": 3, "inventories": {"VCPU": bad}}), 400)
    error(plc("PUT", path, {"resource_provider_generation": 3,
                            "inventories": {"CUSTOM_NO_SUCH_CLASS": {"total": 1}}}), 400)
    full = {"resource_provider_generation": 3, "inventories": {"VCPU": {"total": 4, "reserved": 4}}}
    error(plc("PUT", path, full, mv="1.25"), 400)
    assert plc("PUT", path, full, mv="1.26").status_code == 200
    assert plc("GET", f"/resource_providers/{rp}/usages").json() == {
        "resource_provider_generation": 4, "usages": {"VCPU": 0}}
    error(plc("DELETE", path, mv="1.4"), 405)
    assert plc("DELETE", path).status_code == 204
    error(plc("DELETE", path + "/VCPU"), 404)
    assert plc("DELETE", f"/resource_providers/{rp}").status_code == 204


# --- resource classes and traits ------------------------------------------------------------------

def test_resource_classes(plc):
    names = [c["name"] for c in plc("GET", "/resource_classes").json()["resource_classes"]]
    assert names[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"] and "PCPU" in names
    name = "CUSTOM_" + uuid.uuid4().hex[:10].upper()
    r = plc("POST", "/resource_classes", {"name": name})
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/placement/resource_classes/{name}")
    error(plc("POST", "/resource_classes", {"name": name}), 409)
    error(plc("POST", "/resource_classes", {"name": "NOT_CUSTOM"}), 400)
    assert plc("GET", f"/resource_classes/{name}").json() == {
        "name": name, "links": [{"rel": "self", "href": f"/placement/resource_classes/{name}"}]}
    assert plc("PUT", f"/resource_classes/{name}").status_code == 204        # 1.7: exists
    other = name + "_2"
    assert plc("PUT", f"/resource_classes/{other}").status_code == 201
    error(plc("PUT", "/resource_classes/VCPU"), 400)
    # in use by an inventory: 409; standard: 400
    rp = plc.provider()["uuid"]
    plc.inventory(rp, {name: {"total": 3}})
    error(plc("DELETE", f"/resource_classes/{name}"), 409)
    error(plc("DELETE", "/resource_classes/VCPU"), 400)
    assert plc("DELETE", f"/resource_providers/{rp}").status_code == 204
    for n in (name, other):
        assert plc("DELETE", f"/resource_classes/{n}").status_code == 204
    error(plc("GET", f"/resource_classes/{name}"), 404)


def test_traits(plc):
    everything = plc("GET", "/traits").json()["traits"]
    assert "COMPUTE_NODE" in everything and "HW_CPU_X86_AVX2" in everything
    avx = plc("GET", "/traits", name="startswith:HW_CPU_X86_AVX").json()["traits"]
    assert avx and all(t.startswith("HW_CPU_X86_AVX") for t in avx)
    assert sorted(plc("GET", "/traits", name="in:COMPUTE_NODE,NOPE").json()["traits"]) == ["COMPUTE_NODE"]
    error(plc("GET", "/traits", name="COMPUTE_NODE"), 400)
    name = plc.custom_trait()
    assert plc("PUT", f"/traits/{name}").status_code == 204
    assert plc("GET", f"/traits/{name}").status_code == 204
    error(plc("PUT", "/traits/NOT_CUSTOM"), 400)
    error(plc("GET", "/traits/CUSTOM_NO_SUCH"), 404)

    rp = plc.provider()["uuid"]
    r = plc("PUT", f"/resource_providers/{rp}/traits",
            {"resource_provider_generation": 0, "traits": [name, "COMPUTE_NODE"]})
    assert r.status_code == 200
    assert sorted(r.json()["traits"]) == sorted([name, "COMPUTE_NODE"])
    assert r.json()["resource_provider_generation"] == 1
    error(plc("PUT", f"/resource_providers/{rp}/traits",
              {"resource_provider_generation": 0, "traits": []}), 409, "placement.concurrent_update")
    error(plc("PUT", f"/resource_providers/{rp}/traits",
              {"resource_provider_generation": 1, "traits": ["CUSTOM_NO_SUCH"]}), 400)
    assert name in plc("GET", "/traits", associated="true").json()["traits"]
    assert name not in plc("GET", "/traits", associated="false").json()["traits"]
    error(plc("DELETE", f"/traits/{name}"), 409)
    error(plc("DELETE", "/traits/COMPUTE_NODE"), 400)
    assert plc("DELETE", f"/resource_providers/{rp}/traits").status_code == 204
    got = plc("GET", f"/resource_providers/{rp}/traits").json()
    assert got == {"traits": [], "resource_provider_generation": 2}
    assert plc("DELETE", f"/traits/{name}").status_code == 204
    error(plc("DELETE", f"/traits/{name}"), 404)
    assert plc("DELETE", f"/resource_providers/{rp}").status_code == 204


def test_aggregates(plc):
    rp = plc.provider()["uuid"]
    path = f"/resource_providers/{rp}/aggregates"
    a1, a2 = str(uuid.uuid4()), str(uuid.uuid4())
    error(plc("GET", path, mv="1.0"), 404)
    r = plc("PUT", path, [a1, a2], mv="1.1")         # the plain list form, no generation
    assert r.status_code == 200 and sorted(r.json()["aggregates"]) == sorted([a1, a2])
    assert "resource_provider_generation" not in r.json()
    got = plc("GET", path).json()
    assert sorted(got["aggregates"]) == sorted([a1, a2]) and got["resource_provider_generation"] == 0
    error(plc("PUT", path, {"aggregates": [a1], "resource_provider_generation": 5}), 409,
          "placement.concurrent_update")
    error(plc("PUT", path, {"aggregates": [a1, a1], "resource_provider_generation": 0}), 400)
    error(plc("PUT", path, {"aggregates": ["nope"], "resource_provider_generation": 0}), 400)
    r = plc("PUT", path, {"aggregates": [a2], "resource_provider_generation": 0})
    assert r.json() == {"aggregates": [a2], "resource_provider_generation": 1}
    members = plc("GET", "/resource_providers", member_of=a2).json()["resource_providers"]
    assert [p["uuid"] for p in members] == [rp]
    assert plc("GET", "/resource_providers", member_of=a1).json()["resource_providers"] == []
    members = plc("GET", "/resource_providers", member_of=f"in:{a1},{a2}").json()["resource_providers"]
    assert [p["uuid"] for p in members] == [rp]
    error(plc("GET", "/resource_providers", member_of=f"!{a2}", mv="1.31"), 400)
    assert rp not in [p["uuid"] for p in plc("GET", "/resource_providers",
                                                member_of=f"!{a2}").json()["resource_providers"]]
    assert plc("DELETE", f"/resource_providers/{rp}").status_code == 204


# --- allocations and usages ----------------------------------------------------------------------

def test_allocations_and_usages(plc):
    rp = plc.provider()["uuid"]
    plc.inventory(rp, {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 1024, "max_unit": 512},
                       "DISK_GB": {"total": 100, "step_size": 10}})
    project, user = uniq("proj"), uniq("user")
    c1, c2, c3 = (str(uuid.uuid4()) for _ in range(3))
    # 1.28: a new consumer has generation null
    error(plc.allocate(c1, {rp: {"VCPU": 2}}, project, user, gen=0), 409, "placement.concurrent_update")
    r = plc.allocate(c1, {rp: {"VCPU": 2, "MEMORY_MB": 512}}, project, user)
    assert r.status_code == 204, r.text
    got = plc("GET", f"/allocations/{c1}").json()
    assert got["allocations"][rp]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    assert got["project_id"] == project and got["user_id"] == user
    assert got["consumer_generation"] == 1 and got["consumer_type"] == "INSTANCE"
    old = plc("GET", f"/allocations/{c1}", mv="1.11").json()
    assert set(old) == {"allocations"}
    error(plc.allocate(c1, {rp: {"VCPU": 1}}, project, user, gen=0), 409, "placement.concurrent_update")
    # capacity, max_unit and step_size are enforced: 409
    error(plc.allocate(c2, {rp: {"VCPU": 3}}, project, user), 409)
    error(plc.allocate(c2, {rp: {"MEMORY_MB": 513}}, project, user), 409)
    error(plc.allocate(c2, {rp: {"DISK_GB": 15}}, project, user), 409)
    error(plc.allocate(c2, {rp: {"PCPU": 1}}, project, user), 409)              # no such inventory
    error(plc.allocate(c2, {str(uuid.uuid4()): {"VCPU": 1}}, project, user), 400)
    error(plc.allocate(c2, {rp: {"VCPU": 0}}, project, user), 400)
    error(plc("PUT", f"/allocations/{c2}", {"allocations": {rp: {"resources": {"VCPU": 1}}}}), 400)
    error(plc("PUT", "/allocations/not-a-uuid", {"allocations": {}}), 400)
    # older forms: the list of 1.0 (no owner), the dict of 1.12
    r = plc("PUT", f"/allocations/{c2}", {"allocations": [{"resource_provider": {"uuid": rp},
                                                           "resources": {"DISK_GB": 20}}]}, mv="1.0")
    assert r.status_code == 204, r.text
    r = plc("PUT", f"/allocations/{c2}", {"allocations": {rp: {"resources": {"DISK_GB": 20}}},
                                          "project_id": project, "user_id": user}, mv="1.12")
    assert r.status_code == 204, r.text
    r = plc("PUT", f"/allocations/{c3}", {"allocations": {rp: {"resources": {"VCPU": 1}}},
                                          "project_id": project, "user_id": "other", "consumer_generation": None,
                                          "consumer_type": "MIGRATION"})
    assert r.status_code == 204, r.text

    by_rp = plc("GET", f"/resource_providers/{rp}/allocations").json()
    assert by_rp["allocations"][c1] == {"resources": {"VCPU": 2, "MEMORY_MB": 512}, "consumer_generation": 1}
    assert plc("GET", f"/resource_providers/{rp}/usages").json()["usages"] == {
        "VCPU": 3, "MEMORY_MB": 512, "DISK_GB": 20}
    assert plc("GET", "/usages", project_id=project, mv="1.9").json() == {
        "usages": {"VCPU": 3, "MEMORY_MB": 512, "DISK_GB": 20}}
    assert plc("GET", "/usages", project_id=project, user_id="other", mv="1.9").json() == {
        "usages": {"VCPU": 1}}
    typed = plc("GET", "/usages", project_id=project).json()["usages"]
    assert typed["INSTANCE"] == {"VCPU": 2, "MEMORY_MB": 512, "consumer_count": 1}
    assert typed["MIGRATION"] == {"VCPU": 1, "consumer_count": 1}
    assert typed["unknown"] == {"DISK_GB": 20, "consumer_count": 1}
    assert plc("GET", "/usages", project_id=project, consumer_type="all").json()["usages"] == {
        "all": {"VCPU": 3, "MEMORY_MB": 512, "DISK_GB": 20, "consumer_count": 3}}
    error(plc("GET", "/usages", mv="1.9"), 400)
    error(plc("GET", "/usages", project_id=project, mv="1.8"), 404)

    # an inventory with allocations cannot go; the provider neither
    error(plc("DELETE", f"/resource_providers/{rp}/inventories"), 409, "placement.inventory.inuse")
    error(plc("DELETE", f"/resource_providers/{rp}"), 409, "placement.resource_provider.inuse")

    # POST /allocations moves and clears several consumers at once
    r = plc("POST", "/allocations", {
        c1: {"allocations": {}, "project_id": project, "user_id": user, "consumer_generation": 1,
             "consumer_type": "INSTANCE"},
        c3: {"allocations": {rp: {"resources": {"VCPU": 5}}}, "project_id": project, "user_id": user,
             "consumer_generation": 1, "consumer_type": "INSTANCE"},
    })
    error(r, 409)        # all or nothing: c1 keeps its allocations
    assert plc("GET", f"/allocations/{c1}").json()["consumer_generation"] == 1
    r = plc("POST", "/allocations", {
        c1: {"allocations": {}, "project_id": project, "user_id": user, "consumer_generation": 1,
             "consumer_type": "INSTANCE"},
        c3: {"allocations": {rp: {"resources": {"VCPU": 3}}}, "project_id": project, "user_id": user,
             "consumer_generation": 1, "consumer_type": "INSTANCE"},
    })
    assert r.status_code == 204, r.text
    assert plc("GET", f"/allocations/{c1}").json() == {"allocations": {}}
    assert plc("GET", f"/allocations/{c3}").json()["consumer_generation"] == 2
    for c in (c2, c3):
        assert plc("DELETE", f"/allocations/{c}").status_code == 204
    error(plc("DELETE", f"/allocations/{c3}"), 404)
    assert plc("DELETE", f"/resource_providers/{rp}").status_code == 204


def test_allocations_never_overcommit_under_concurrency(plc):
    rp = plc.provider()["uuid"]
    rc = plc.custom_class()
    plc.inventory(rp, {rc: {"total": 10}})

    def claim(_):
        return plc.allocate(str(uuid.uuid4()), {rp: {rc: 1}}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(claim, range(30)))
    assert codes.count(204) == 10 and codes.count(409) == 20, codes
    assert plc("GET", f"/resource_providers/{rp}/usages").json()["usages"] == {rc: 10}
    for consumer in plc("GET", f"/resource_providers/{rp}/allocations").json()["allocations"]:
        assert plc("DELETE", f"/allocations/{consumer}").status_code == 204
    assert plc("DELETE", f"/resource_providers/{rp}").status_code == 204


# --- allocation candidates -----------------------------------------------------------------------

def test_allocation_candidates(plc):
    rc = plc.custom_class()
    fast = plc.custom_trait()
    agg = str(uuid.uuid4())
    h1, h2 = plc.provider(), plc.provider()
    plc.inventory(h1["uuid"], {rc: {"total": 8}, "VCPU": {"total": 4}})
    plc.inventory(h2["uuid"], {rc: {"total": 2}})
    plc.traits(h1["uuid"], [fast])
    gen = plc("GET", f"/resource_providers/{h2['uuid']}").json()["generation"]
    plc("PUT", f"/resource_providers/{h2['uuid']}/aggregates",
        {"aggregates": [agg], "resource_provider_generation": gen})

    def uuids(body):
        return sorted(p for a in body["allocation_requests"] for p in a["allocations"])

    r = plc("GET", "/allocation_candidates", resources=f"{rc}:2")
    assert r.status_code == 200, r.text
    body = r.json()
    assert uuids(body) == sorted([h1["uuid"], h2["uuid"]])
    a = next(a for a in body["allocation_requests"] if h1["uuid"] in a["allocations"])
    assert a == {"allocations": {h1["uuid"]: {"resources": {rc: 2}}}, "mappings": {"": [h1["uuid"]]}}
    s = body["provider_summaries"][h1["uuid"]]
    assert s["resources"] == {rc: {"capacity": 8, "used": 0}, "VCPU": {"capacity": 4, "used": 0}}
    assert s["traits"] == [fast] and s["root_provider_uuid"] == h1["uuid"]
    assert s["parent_provider_uuid"] is None
    # older shapes: a list of allocations (1.10), only requested classes in summaries (< 1.27)
    old = plc("GET", "/allocation_candidates", resources=f"{rc}:2", mv="1.10").json()
    assert {"resource_provider": {"uuid": h1["uuid"]}, "resources": {rc: 2}} in [
        x for a in old["allocation_requests"] for x in a["allocations"]]
    assert old["provider_summaries"][h1["uuid"]] == {"resources": {rc: {"capacity": 8, "used": 0}}}
    # filters: capacity, traits (required, forbidden, any-of), aggregates, limit
    assert uuids(plc("GET", "/allocation_candidates", resources=f"{rc}:3").json()) == [h1["uuid"]]
    assert uuids(plc("GET", "/allocation_candidates", resources=f"{rc}:1", required=fast).json()) == [h1["uuid"]]
    assert uuids(plc("GET", "/allocation_candidates", resources=f"{rc}:1",
                     required=f"!{fast}").json()) == [h2["uuid"]]
    assert uuids(plc("GET", "/allocation_candidates", resources=f"{rc}:1",
                     required=f"in:{fast},COMPUTE_NODE").json()) == [h1["uuid"]]
    assert uuids(plc("GET", "/allocation_candidates", resources=f"{rc}:1", member_of=agg).json()) == [h2["uuid"]]
    assert uuids(plc("GET", "/allocation_candidates", resources=f"{rc}:1",
                     member_of=f"!{agg}").json()) == [h1["uuid"]]
    limited = plc("GET", "/allocation_candidates", resources=f"{rc}:1", limit=1).json()
    assert len(limited["allocation_requests"]) == 1 and len(limited["provider_summaries"]) == 1
    assert plc("GET", "/allocation_candidates", resources=f"{rc}:9").json() == {
        "allocation_requests": [], "provider_summaries": {}}
    # bad requests
    error(plc("GET", "/allocation_candidates", resources="CUSTOM_NO_SUCH_CLASS:1"), 400)
    error(plc("GET", "/allocation_candidates", resources=f"{rc}:1", required="CUSTOM_NO_SUCH_TRAIT"), 400)
    error(plc("GET", "/allocation_candidates", resources=f"{rc}:0"), 400)
    error(plc("GET", "/allocation_candidates", resources=f"{rc}:1", limit="0"), 400)
    error(plc("GET", "/allocation_candidates", mv="1.24"), 400)
    error(plc("GET", "/allocation_candidates", required=fast), 400, "placement.query.missing_value")
    error(plc("GET", "/allocation_candidates", resources1=f"{rc}:1", resources2=f"{rc}:1"), 400)
    error(plc("GET", "/allocation_candidates", resources=f"{rc}:1", required=f"{fast},!{fast}"), 400)
    # an allocation request can be PUT as it is
    consumer = str(uuid.uuid4())
    areq = plc("GET", "/allocation_candidates", resources=f"{rc}:2", required=fast).json()["allocation_requests"][0]
    r = plc("PUT", f"/allocations/{consumer}", {**areq, "project_id": "p", "user_id": "u",
                                                "consumer_generation": None, "consumer_type": "INSTANCE"})
    assert r.status_code == 204, r.text
    s = plc("GET", "/allocation_candidates", resources=f"{rc}:1", required=fast).json()["provider_summaries"]
    assert s[h1["uuid"]]["resources"][rc] == {"capacity": 8, "used": 2}
    assert plc("DELETE", f"/allocations/{consumer}").status_code == 204
    for h in (h1, h2):
        assert plc("DELETE", f"/resource_providers/{h['uuid']}").status_code == 204


def test_allocation_candidates_nested_and_granular(plc):
    vf = plc.custom_class()
    net_a, net_b = plc.custom_trait(), plc.custom_trait()
    root = plc.provider()
    numa0, numa1 = plc.provider(parent=root["uuid"]), plc.provider(parent=root["uuid"])
    pf0, pf1 = plc.provider(parent=numa0["uuid"]), plc.provider(parent=numa1["uuid"])
    cpu = plc.custom_class()
    plc.inventory(root["uuid"], {"DISK_GB": {"total": 100}})
    for n in (numa0, numa1):
        plc.inventory(n["uuid"], {cpu: {"total": 4}})
    for pf, t in ((pf0, net_a), (pf1, net_b)):
        plc.inventory(pf["uuid"], {vf: {"total": 8}})
        plc.traits(pf["uuid"], [t])

    def allocs(body):
        return sorted(tuple(sorted((rp, tuple(sorted(v["resources"].items())))
                                   for rp, v in a["allocations"].items()))
                      for a in body["allocation_requests"])

    # 1.29: the unsuffixed group spreads over the tree
    r = plc("GET", "/allocation_candidates", resources=f"{cpu}:1,{vf}:1", mv="1.29").json()
    assert len(r["allocation_requests"]) == 4            # 2 NUMA x 2 PF
    assert set(r["provider_summaries"]) == {p["uuid"] for p in (root, numa0, numa1, pf0, pf1)}
    # before 1.29 one provider per tree: no answer can mix two providers of it
    assert plc("GET", "/allocation_candidates", resources=f"{cpu}:1,{vf}:1",
               mv="1.28").json()["allocation_requests"] == []
    # traits of the unsuffixed group hold for the providers used together
    r = plc("GET", "/allocation_candidates", resources=f"{cpu}:1,{vf}:1", required=net_b, mv="1.29").json()
    assert {p for a in r["allocation_requests"] for p in a["allocations"]} == {
        numa0["uuid"], numa1["uuid"], pf1["uuid"]}
    # granular groups: one provider each; isolate keeps them apart
    q = {f"resources_A": f"{vf}:1", f"resources_B": f"{vf}:1"}
    isolated = plc("GET", "/allocation_candidates", group_policy="isolate", **q).json()
    pair = tuple(sorted([(pf0["uuid"], ((vf, 1),)), (pf1["uuid"], ((vf, 1),))]))
    assert allocs(isolated) == [pair, pair]          # the same amounts, mapped both ways round
    assert sorted((a["mappings"]["_A"], a["mappings"]["_B"]) for a in isolated["allocation_requests"]) == \
        sorted([([pf0["uuid"]], [pf1["uuid"]]), ([pf1["uuid"]], [pf0["uuid"]])])
    shared = plc("GET", "/allocation_candidates", group_policy="none", **q).json()
    assert ((pf0["uuid"], ((vf, 2),)),) in allocs(shared)          # both groups on one PF: summed
    assert len(shared["allocation_requests"]) == 4      # (pf0|pf1) x (pf0|pf1)
    r = plc("GET", "/allocation_candidates", group_policy="none", resources=f"{cpu}:1",
            resources1=f"{vf}:1", required1=net_a).json()
    assert {tuple(a["mappings"]["1"]) for a in r["allocation_requests"]} == {(pf0["uuid"],)}
    # same_subtree (1.36): the VF and the CPU under one NUMA node
    r = plc("GET", "/allocation_candidates", group_policy="none", resources_CPU=f"{cpu}:1",
            resources_VF=f"{vf}:1", same_subtree="_CPU,_VF", mv="1.36").json()
    pairs = {(a["mappings"]["_CPU"][0], a["mappings"]["_VF"][0]) for a in r["allocation_requests"]}
    assert pairs == {(numa0["uuid"], pf0["uuid"]), (numa1["uuid"], pf1["uuid"])}
    # in_tree and root_required
    r = plc("GET", "/allocation_candidates", resources=f"{vf}:1", in_tree=pf1["uuid"], mv="1.31").json()
    assert len(r["allocation_requests"]) == 2
    assert plc("GET", "/allocation_candidates", resources=f"{vf}:1", root_required=net_a,
               mv="1.35").json()["allocation_requests"] == []
    for p in (pf0, pf1, numa0, numa1, root):
        assert plc("DELETE", f"/resource_providers/{p['uuid']}").status_code == 204


# --- policy --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def member(cloud, admin):
    u = project_user(cloud, admin)
    yield u
    u["cleanup"]()


def system_reader_token(cloud, admin):
    name, password = uniq("sysreader"), "pw-" + uuid.uuid4().hex
    user = admin.identity.create_user(name=name, password=password, domain_id="default")
    role = admin.identity.find_role("reader")
    r = requests.put(f"{cloud.auth_url}/system/users/{user.id}/roles/{role.id}",
                     headers={"X-Auth-Token": admin.auth_token}, timeout=30)
    assert r.status_code == 204, r.text
    auth = {"identity": {"methods": ["password"], "password": {"user": {"id": user.id, "password": password}}},
            "scope": {"system": {"all": True}}}
    r = requests.post(f"{cloud.auth_url}/auth/tokens", json={"auth": {**auth}}, timeout=30)
    assert r.status_code == 201, r.text
    return user, r.headers["X-Subject-Token"]


def test_policy(cloud, admin, plc, member):
    rp = plc.provider()["uuid"]
    m = Placement(cloud, member["conn"].auth_token)
    for method, path, body in (("GET", "/resource_providers", None),
                               ("POST", "/resource_providers", {"name": uniq("rp")}),
                               ("GET", f"/resource_providers/{rp}", None),
                               ("DELETE", f"/resource_providers/{rp}", None),
                               ("GET", f"/resource_providers/{rp}/inventories", None),
                               ("GET", "/traits", None), ("GET", "/resource_classes", None),
                               ("PUT", "/traits/CUSTOM_MEMBER_WAS_HERE", None),
                               ("GET", f"/allocations/{uuid.uuid4()}", None),
                               ("GET", "/allocation_candidates?resources=VCPU:1", None)):
        r = m(method, path, body)
        assert "Policy does not allow" in error(r, 403), (method, path)
    # a project reader may see its own project's usages, not another's
    assert m("GET", "/usages", project_id=member["project"].id).status_code == 200
    error(m("GET", "/usages", project_id="someone-else"), 403)
    user, token = system_reader_token(cloud, admin)
    try:
        s = Placement(cloud, token)
        assert s("GET", "/resource_providers").status_code == 200
        assert s("GET", f"/resource_providers/{rp}/inventories").status_code == 200
        assert s("GET", "/usages", project_id="anyone").status_code == 200
        error(s("POST", "/resource_providers", {"name": uniq("rp")}), 403)
        error(s("DELETE", f"/resource_providers/{rp}"), 403)
    finally:
        admin.identity.delete_user(user)
    assert plc("DELETE", f"/resource_providers/{rp}").status_code == 204


# --- real clients --------------------------------------------------------------------------------

def test_openstacksdk(admin):
    name = uniq("sdk-rp")
    rp = admin.placement.create_resource_provider(name=name)
    assert rp.name == name and rp.generation == 0
    assert name in [p.name for p in admin.placement.resource_providers()]
    assert admin.placement.get_resource_provider(rp.id).name == name
    admin.placement.update_resource_provider(rp, name=name + "-2")
    assert admin.placement.get_resource_provider(rp.id).name == name + "-2"
    rc_name = "CUSTOM_" + uuid.uuid4().hex[:8].upper()
    admin.placement.create_resource_class(name=rc_name)
    assert rc_name in [c.name for c in admin.placement.resource_classes()]
    admin.placement.delete_resource_class(rc_name)
    admin.placement.delete_resource_provider(rp)
    assert name + "-2" not in [p.name for p in admin.placement.resource_providers()]


@pytest.mark.skipif(not shutil.which("openstack"), reason="no openstack CLI")
def test_openstack_cli(cloud):
    if cloud.cli("resource", "provider", "list", "--help").returncode != 0:
        pytest.skip("osc-placement is not installed")
    name = uniq("cli-rp")
    rp = cloud.cli_json("resource", "provider", "create", name)
    assert rp["name"] == name and rp["generation"] == 0
    inv = cloud.cli_json("resource", "provider", "inventory", "set", rp["uuid"],
                         "--resource", "VCPU=8", "--resource", "VCPU:allocation_ratio=2.0",
                         "--resource", "MEMORY_MB=2048")
    assert {i["resource_class"]: i["total"] for i in inv} == {"VCPU": 8, "MEMORY_MB": 2048}
    shown = cloud.cli_json("resource", "provider", "inventory", "show", rp["uuid"], "VCPU")
    assert shown["allocation_ratio"] == 2.0 and shown["used"] == 0
    listed = cloud.cli_json("resource", "provider", "list", "--name", name)
    assert [p["uuid"] for p in listed] == [rp["uuid"]]
    trait = "CUSTOM_CLI_" + uuid.uuid4().hex[:8].upper()
    v = ["--os-placement-api-version", "1.17"]
    cloud.cli(*v, "trait", "create", trait, check=True)
    cloud.cli_json(*v, "resource", "provider", "trait", "set", rp["uuid"], "--trait", trait)
    cands = cloud.cli_json(*v, "allocation", "candidate", "list", "--resource", "VCPU=4",
                           "--required", trait)
    assert {c["resource provider"] for c in cands} == {rp["uuid"]}
    consumer = str(uuid.uuid4())
    cloud.cli_json("--os-placement-api-version", "1.12", "resource", "provider", "allocation", "set",
                   consumer, "--allocation", f"rp={rp['uuid']},VCPU=2", "--project-id", "p",
                   "--user-id", "u")
    usage = cloud.cli_json("resource", "provider", "usage", "show", rp["uuid"])
    assert {u["resource_class"]: u["usage"] for u in usage}["VCPU"] == 2
    cloud.cli("resource", "provider", "allocation", "delete", consumer, check=True)
    cloud.cli(*v, "resource", "provider", "trait", "delete", rp["uuid"], check=True)
    cloud.cli(*v, "trait", "delete", trait, check=True)
    cloud.cli("resource", "provider", "delete", rp["uuid"], check=True)
    assert cloud.cli_json("resource", "provider", "list", "--name", name) == []
