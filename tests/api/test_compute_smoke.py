"""Compute (Nova v2.1) and Placement end to end: version discovery, microversion negotiation,
the catalog, flavors and a server that reaches ACTIVE on the fake driver, through plain HTTP,
the `openstack` CLI and openstacksdk. The session cloud runs the fake driver (conftest
DEFAULT_CONFIG)."""

import json

import pytest
import requests

from conftest import qcow2_file, uniq

MV_HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
MIN_MAX_VERSION = (2, 79)   # the highest microversion must be at least this


def mv_tuple(s):
    major, minor = s.split(".")
    return int(major), int(minor)


class ComputeApi:
    """Plain HTTP against /compute with a token; version=X.Y sends OpenStack-API-Version."""

    def __init__(self, cloud, token):
        self.base = cloud.url + "/compute"
        self.headers = {"X-Auth-Token": token}

    def __call__(self, method, path, body=None, *, version=None, headers=None, **params):
        h = dict(self.headers)
        if version is not None:
            h[MV_HEADER] = f"compute {version}"
        h.update(headers or {})
        return requests.request(method, self.base + path, json=body, headers=h,
                                params=params or None, timeout=30)


@pytest.fixture(scope="module")
def nova(cloud, admin):
    return ComputeApi(cloud, admin.auth_token)


@pytest.fixture(scope="module")
def image_id(cloud, admin, tmp_path_factory):
    """A small public qcow2 image (admin), deleted at the end of the module."""
    data = qcow2_file(tmp_path_factory.mktemp("img") / "smoke.qcow2", 1 << 20)
    img = admin.image.create_image(name=uniq("smoke-img"), disk_format="qcow2",
                                   container_format="bare", visibility="public", data=data)
    assert admin.image.get_image(img.id).status == "active"
    yield img.id
    admin.image.delete_image(img.id, ignore_missing=True)


# -- version discovery -----------------------------------------------------------------------

def test_versions_root(cloud):
    r = requests.get(cloud.url + "/compute", timeout=10)
    assert r.status_code == 200, r.text
    versions = {v["id"]: v for v in r.json()["versions"]}
    assert set(versions) == {"v2.0", "v2.1"}
    v21 = versions["v2.1"]
    assert v21["status"] == "CURRENT"
    assert v21["min_version"] == "2.1"
    assert mv_tuple(v21["version"]) >= MIN_MAX_VERSION
    assert any(link["rel"] == "self" and link["href"].rstrip("/").endswith("/compute/v2.1")
               for link in v21["links"])
    assert versions["v2.0"]["status"] == "SUPPORTED"


def test_version_v21(cloud):
    r = requests.get(cloud.url + "/compute/v2.1", timeout=10)
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    assert v["id"] == "v2.1" and v["status"] == "CURRENT"
    assert v["min_version"] == "2.1"
    assert mv_tuple(v["version"]) >= MIN_MAX_VERSION
    assert v["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2.1"
    rels = {link["rel"] for link in v["links"]}
    assert {"self", "describedby"} <= rels


def test_sdk_discovers_compute_microversions(admin):
    lo, hi = admin.compute.get_endpoint_data().min_microversion, \
        admin.compute.get_endpoint_data().max_microversion
    assert lo == (2, 1)
    assert tuple(hi) >= MIN_MAX_VERSION


# -- microversion negotiation ----------------------------------------------------------------

def _max_version(cloud):
    return requests.get(cloud.url + "/compute/v2.1", timeout=10).json()["version"]["version"]


def test_microversion_default_is_2_1(nova):
    r = nova("GET", "/v2.1/flavors")
    assert r.status_code == 200, r.text
    assert r.headers[MV_HEADER] == "compute 2.1"
    assert r.headers[LEGACY_HEADER] == "2.1"
    vary = {v.strip().lower() for v in r.headers["Vary"].split(",")}
    assert {MV_HEADER.lower(), LEGACY_HEADER.lower()} <= vary


def test_microversion_echoed(nova):
    r = nova("GET", "/v2.1/flavors", version="2.53")
    assert r.status_code == 200, r.text
    assert r.headers[MV_HEADER] == "compute 2.53"
    assert r.headers[LEGACY_HEADER] == "2.53"
    assert MV_HEADER.lower() in r.headers["Vary"].lower()


def test_microversion_legacy_header(nova):
    r = nova("GET", "/v2.1/flavors", headers={LEGACY_HEADER: "2.10"})
    assert r.status_code == 200, r.text
    assert r.headers[LEGACY_HEADER] == "2.10"
    assert r.headers[MV_HEADER] == "compute 2.10"


def test_microversion_latest(cloud, nova):
    r = nova("GET", "/v2.1/flavors", version="latest")
    assert r.status_code == 200, r.text
    assert r.headers[MV_HEADER] == f"compute {_max_version(cloud)}"


def test_microversion_too_high_is_406(cloud, nova):
    r = nova("GET", "/v2.1/flavors", version="2.999")
    assert r.status_code == 406, r.text
    fault = r.json()["computeFault"]
    assert fault["code"] == 406
    assert fault["message"] == ("Version 2.999 is not supported by the API. Minimum is 2.1 and "
                                f"maximum is {_max_version(cloud)}.")


def test_microversion_malformed_is_400(nova):
    r = nova("GET", "/v2.1/flavors", version="2.x")
    assert r.status_code == 400, r.text
    fault = r.json()["badRequest"]
    assert fault["code"] == 400
    assert fault["message"] == ("API Version String 2.x is of invalid format. Must be of format "
                                "MajorNum.MinorNum.")


# -- catalog ---------------------------------------------------------------------------------

def test_catalog_lists_compute_and_placement(cloud):
    entries = cloud.cli_json("catalog", "list")
    by_type = {e["Type"]: e for e in entries}
    assert "compute" in by_type, entries
    assert "placement" in by_type, entries
    compute_urls = [ep["url"] for ep in by_type["compute"]["Endpoints"]]
    assert any(u.rstrip("/").endswith("/compute/v2.1") for u in compute_urls), compute_urls
    placement_urls = [ep["url"] for ep in by_type["placement"]["Endpoints"]]
    assert any(u.rstrip("/").endswith("/placement") for u in placement_urls), placement_urls


def test_placement_root(cloud):
    r = requests.get(cloud.url + "/placement", timeout=10)
    assert r.status_code == 200, r.text
    v = r.json()["versions"][0]
    assert v["id"] == "v1.0" and v["min_version"] == "1.0"
    assert mv_tuple(v["max_version"]) >= (1, 36)


# -- flavors ---------------------------------------------------------------------------------

def test_flavor_list_shows_seeded(cloud):
    flavors = cloud.cli_json("flavor", "list")
    by_name = {f["Name"]: f for f in flavors}
    assert by_name["m1.nano"]["ID"] == "42", flavors
    assert by_name["m1.micro"]["ID"] == "84", flavors
    assert by_name["m1.nano"]["RAM"] == 128
    assert by_name["m1.nano"]["VCPUs"] == 1


def test_sdk_flavors(admin):
    names = {f.name for f in admin.compute.flavors()}
    assert {"m1.nano", "m1.micro"} <= names


# -- servers (fake driver) -------------------------------------------------------------------

def test_cli_server_create_reaches_active(cloud, image_id):
    name = uniq("smoke-srv")
    server = cloud.cli_json("--os-compute-api-version", "2.37", "server", "create", "--wait",
                            "--flavor", "m1.nano", "--image", image_id, "--network", "none",
                            name, timeout=180)
    try:
        assert server["status"] == "ACTIVE", server
        assert server["name"] == name
        shown = cloud.cli_json("server", "show", server["id"])
        assert shown["status"] == "ACTIVE"
        # "m1.nano (42)" below 2.47; the embedded flavor (a dict) when the CLI negotiates higher
        flavor = shown["flavor"]
        if isinstance(flavor, dict):
            assert flavor["original_name"] == "m1.nano", flavor
        else:
            assert flavor.startswith("m1.nano"), flavor
        listed = cloud.cli_json("server", "list", "--name", name)
        assert [s["ID"] for s in listed] == [server["id"]]
    finally:
        cloud.cli("server", "delete", "--wait", server["id"], check=True, timeout=120)
    r = cloud.cli("server", "show", server["id"])
    assert r.returncode != 0


def test_sdk_server_create_reaches_active(admin, image_id):
    flavor = admin.compute.find_flavor("m1.nano", ignore_missing=False)
    server = admin.compute.create_server(name=uniq("smoke-sdk"), image_id=image_id,
                                         flavor_id=flavor.id, networks="none")
    try:
        server = admin.compute.wait_for_server(server, status="ACTIVE", wait=60)
        assert server.status == "ACTIVE"
        assert server.image.id == image_id
    finally:
        admin.compute.delete_server(server)
    admin.compute.wait_for_delete(server, wait=60)


def test_server_of_another_project_is_404(cloud, admin, image_id):
    """A member of another project does not see the admin's server (Nova answers 404)."""
    from conftest import project_user
    flavor = admin.compute.find_flavor("m1.nano", ignore_missing=False)
    server = admin.compute.create_server(name=uniq("smoke-own"), image_id=image_id,
                                         flavor_id=flavor.id, networks="none")
    other = project_user(cloud, admin)
    try:
        api = ComputeApi(cloud, other["conn"].auth_token)
        r = api("GET", f"/v2.1/servers/{server.id}")
        assert r.status_code == 404, r.text
        assert "itemNotFound" in r.json()
        r = api("GET", "/v2.1/servers")
        assert r.status_code == 200, r.text
        assert server.id not in {s["id"] for s in r.json()["servers"]}
    finally:
        other["cleanup"]()
        admin.compute.delete_server(server)
        admin.compute.wait_for_delete(server, wait=60)


def test_hypervisors_are_the_fake_hosts(nova):
    from conftest import FAKE_HOSTS
    r = nova("GET", "/v2.1/os-hypervisors/detail")
    assert r.status_code == 200, r.text
    hvs = r.json()["hypervisors"]
    assert len(hvs) == FAKE_HOSTS, json.dumps(hvs)[:500]
    assert all(h["state"] == "up" and h["status"] == "enabled" for h in hvs), hvs
