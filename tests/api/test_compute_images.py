"""Compute's image proxy (GET/DELETE /images, /images/detail, /images/{id}/metadata[/key]) and
os-instance_usage_audit_log, end to end on the session cloud (fake driver): Nova's views and
status mapping, the list filters (name, status, changes-since, server, type, minRam, minDisk,
property-*) and marker paging with images_links, metadata with Nova's validation and the
metadata_items quota, deletion rules (another project's image, protected images), the image
service's visibility for other projects (private, shared and accepted), the 404 from 2.36
(2.39 for metadata), and the usage audit report (admin only, Nova's month periods)."""

import time

import pytest
import requests

from conftest import ImageApi, project_user, uniq


class Nova:
    """Plain HTTP against /compute/v2.1 with a token; version=X.Y sends OpenStack-API-Version."""

    def __init__(self, cloud, token):
        self.base = cloud.url + "/compute/v2.1"
        self.headers = {"X-Auth-Token": token}

    def __call__(self, method, path, body=None, *, version=None, **params):
        h = dict(self.headers)
        if version:
            h["OpenStack-API-Version"] = f"compute {version}"
        return requests.request(method, self.base + path, json=body, headers=h,
                                params=params or None, timeout=30)


@pytest.fixture(scope="module")
def nova(cloud, admin):
    return Nova(cloud, admin.auth_token)


@pytest.fixture(scope="module")
def glance(cloud, admin):
    return ImageApi(cloud, admin.auth_token)


@pytest.fixture(scope="module")
def member(cloud, admin):
    u = project_user(cloud, admin)
    u["nova"] = Nova(cloud, u["conn"].auth_token)
    yield u
    u["cleanup"]()


@pytest.fixture(scope="module")
def other(cloud, admin):
    u = project_user(cloud, admin)
    u["nova"] = Nova(cloud, u["conn"].auth_token)
    yield u
    u["cleanup"]()


def active_image(img_api, **attrs):
    """A new image of 1 KiB (raw/bare, private unless said) through the image API."""
    attrs.setdefault("disk_format", "raw")
    attrs.setdefault("container_format", "bare")
    attrs.setdefault("visibility", "private")
    im = img_api.create(**attrs)
    r = img_api.upload(im["id"], b"*" * 1024)
    assert r.status_code == 204, r.text
    return im


@pytest.fixture(scope="module")
def mine(member):
    """Two private images of the member's project, one with extra properties."""
    g = member["image"]
    a = active_image(g, os_distro="cirros", image_type="snapshot", instance_uuid="1234-abcd",
                     auto_disk_config="true")
    time.sleep(1.1)   # distinct created_at seconds for the ordering and changes-since
    b = active_image(g, min_ram=128, min_disk=2)
    yield a, b
    for im in (a, b):
        g.delete(im["id"])


# -- show and the views --------------------------------------------------------------------------

def test_show_view(cloud, member, mine):
    a, _ = mine
    r = member["nova"]("GET", f"/images/{a['id']}")
    assert r.status_code == 200, r.text
    im = r.json()["image"]
    assert im["id"] == a["id"] and im["name"] == a["name"]
    assert im["status"] == "ACTIVE" and im["progress"] == 100
    assert im["OS-EXT-IMG-SIZE:size"] == 1024
    assert im["minRam"] == 0 and im["minDisk"] == 0
    assert im["metadata"] == {"os_distro": "cirros", "image_type": "snapshot",
                              "instance_uuid": "1234-abcd", "auto_disk_config": "true"}
    assert im["OS-DCF:diskConfig"] == "AUTO"
    assert im["created"].endswith("Z") and im["updated"].endswith("Z")
    links = {link["rel"]: link for link in im["links"]}
    assert links["self"]["href"] == f"{cloud.url}/compute/v2.1/images/{a['id']}"
    assert links["bookmark"]["href"] == f"{cloud.url}/compute/images/{a['id']}"
    assert links["alternate"]["href"] == f"{cloud.url}/image/images/{a['id']}"
    assert links["alternate"]["type"] == "application/vnd.openstack.image"
    assert im["server"]["id"] == "1234-abcd"
    assert im["server"]["links"][0]["href"].endswith("/compute/v2.1/servers/1234-abcd")


def test_show_queued_is_saving(member):
    g = member["image"]
    im = g.create(disk_format="raw", container_format="bare")
    try:
        r = member["nova"]("GET", f"/images/{im['id']}")
        assert r.status_code == 200, r.text
        v = r.json()["image"]
        assert v["status"] == "SAVING" and v["progress"] == 25
        assert v["OS-EXT-IMG-SIZE:size"] == 0 and v["metadata"] == {}
        assert "server" not in v and "OS-DCF:diskConfig" not in v
    finally:
        g.delete(im["id"])


def test_show_missing_404(nova):
    for bad in ("00000000-0000-0000-0000-000000000000", "nope", "x" * 40):
        r = nova("GET", f"/images/{bad}")
        assert r.status_code == 404, r.text
        assert r.json()["itemNotFound"]["message"] == "Image not found."


# -- lists and filters ---------------------------------------------------------------------------

def ids(r):
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["images"]]


def test_list_and_detail(member, mine):
    a, b = mine
    n = member["nova"]
    r = n("GET", "/images")
    got = ids(r)
    assert a["id"] in got and b["id"] in got
    assert got.index(b["id"]) < got.index(a["id"])   # newest first
    one = next(i for i in r.json()["images"] if i["id"] == a["id"])
    assert set(one) == {"id", "name", "links"}
    assert len(one["links"]) == 3
    r = n("GET", "/images/detail")
    assert r.status_code == 200, r.text
    det = next(i for i in r.json()["images"] if i["id"] == b["id"])
    assert det["minRam"] == 128 and det["minDisk"] == 2 and det["status"] == "ACTIVE"
    assert "images_links" not in r.json()


def test_filters(member, mine):
    a, b = mine
    n = member["nova"]
    assert ids(n("GET", "/images", name=a["name"])) == [a["id"]]
    got = ids(n("GET", "/images/detail", status="ACTIVE"))
    assert a["id"] in got and b["id"] in got
    assert ids(n("GET", "/images", status="SAVING")) == []
    assert a["id"] in ids(n("GET", "/images", server="1234-abcd"))
    assert ids(n("GET", "/images", server="http://x/compute/v2.1/servers/1234-abcd")) == [a["id"]]
    got = ids(n("GET", "/images", type="snapshot"))
    assert a["id"] in got and b["id"] not in got
    assert ids(n("GET", "/images", minRam="128")) == [b["id"]]
    assert ids(n("GET", "/images", minDisk="2")) == [b["id"]]
    assert ids(n("GET", "/images", **{"property-os_distro": "cirros"})) == [a["id"]]
    assert ids(n("GET", "/images", unknown_filter="ignored", name=b["name"])) == [b["id"]]
    created_b = n("GET", f"/images/{b['id']}").json()["image"]["created"]
    got = ids(n("GET", "/images", **{"changes-since": created_b}))
    assert b["id"] in got and a["id"] not in got
    r = n("GET", "/images", **{"changes-since": "yesterday"})
    assert r.status_code == 400, r.text


def test_paging(member, mine):
    a, b = mine
    n = member["nova"]
    r = n("GET", "/images", limit="1", name=b["name"])
    assert ids(r) == [b["id"]]
    nxt = r.json()["images_links"]
    assert nxt[0]["rel"] == "next"
    assert "marker=" + b["id"] in nxt[0]["href"] and "limit=1" in nxt[0]["href"]
    # the whole project's images, one page at a time, in the list's order
    full = ids(n("GET", "/images"))
    seen, marker = [], None
    while True:
        params = {"limit": "1"}
        if marker:
            params["marker"] = marker
        page = ids(n("GET", "/images/detail", **params))
        if not page:
            break
        seen += page
        marker = page[-1]
    assert seen == full
    assert n("GET", "/images", limit="-1").status_code == 400
    assert n("GET", "/images", limit="x").status_code == 400
    assert n("GET", "/images", marker="00000000-0000-0000-0000-000000000000").status_code == 400
    r = n("GET", "/images", limit="0")
    assert r.status_code == 200 and "images_links" not in r.json()


# -- visibility across projects ------------------------------------------------------------------

def test_other_project_cannot_see_or_touch(member, other, mine):
    a, _ = mine
    o = other["nova"]
    assert a["id"] not in ids(o("GET", "/images"))
    assert o("GET", f"/images/{a['id']}").status_code == 404
    assert o("GET", f"/images/{a['id']}/metadata").status_code == 404
    assert o("POST", f"/images/{a['id']}/metadata", {"metadata": {"k": "v"}}).status_code == 404
    r = o("DELETE", f"/images/{a['id']}")
    assert r.status_code == 404, r.text
    assert member["nova"]("GET", f"/images/{a['id']}").status_code == 200


def test_shared_image_after_accepting(member, other):
    g = member["image"]
    im = active_image(g, visibility="shared")
    try:
        pid = other["project"].id
        r = g("POST", f"/v2/images/{im['id']}/members", {"member": pid})
        assert r.status_code == 200, r.text
        o = other["nova"]
        assert im["id"] not in ids(o("GET", "/images"))       # pending: not listed
        assert o("GET", f"/images/{im['id']}").status_code == 200   # but visible by id
        r = other["image"]("PUT", f"/v2/images/{im['id']}/members/{pid}", {"status": "accepted"})
        assert r.status_code == 200, r.text
        assert im["id"] in ids(o("GET", "/images"))
        # a member may not edit or delete the owner's image
        r = o("PUT", f"/images/{im['id']}/metadata", {"metadata": {"a": "b"}})
        assert r.status_code == 403, r.text
        assert r.json()["forbidden"]["message"] == f"Not authorized for image {im['id']}."
        r = o("DELETE", f"/images/{im['id']}")
        assert r.status_code == 403, r.text
        assert r.json()["forbidden"]["message"] == "You are not allowed to delete the image."
    finally:
        g.delete(im["id"])


def test_public_image_of_another_project(nova, glance, member):
    im = active_image(glance, visibility="public")
    try:
        n = member["nova"]
        assert im["id"] in ids(n("GET", "/images"))
        assert n("GET", f"/images/{im['id']}").status_code == 200
        assert n("DELETE", f"/images/{im['id']}").status_code == 403
        assert n("POST", f"/images/{im['id']}/metadata", {"metadata": {"x": "y"}}).status_code == 403
        assert nova("GET", f"/images/{im['id']}/metadata").json()["metadata"] == {}
    finally:
        glance.delete(im["id"])


# -- delete -------------------------------------------------------------------------------------

def test_delete(member):
    g, n = member["image"], member["nova"]
    im = active_image(g)
    r = n("DELETE", f"/images/{im['id']}")
    assert r.status_code == 204, r.text
    assert n("GET", f"/images/{im['id']}").status_code == 404
    assert g("GET", f"/v2/images/{im['id']}").status_code == 404
    assert n("DELETE", f"/images/{im['id']}").status_code == 404
    assert n("DELETE", "/images/").status_code == 404
    assert n("DELETE", "/images/-1").status_code == 404


def test_delete_protected_403(member):
    g, n = member["image"], member["nova"]
    im = active_image(g, protected=True)
    try:
        r = n("DELETE", f"/images/{im['id']}")
        assert r.status_code == 403, r.text
        assert n("GET", f"/images/{im['id']}").status_code == 200
    finally:
        g.delete(im["id"])


# -- metadata -----------------------------------------------------------------------------------

def test_metadata_calls(member):
    g, n = member["image"], member["nova"]
    im = active_image(g)
    iid = im["id"]
    try:
        r = n("PUT", f"/images/{iid}/metadata", {"metadata": {"os_version": "v1", "os_distro": "v2"}})
        assert r.status_code == 200, r.text
        assert r.json() == {"metadata": {"os_version": "v1", "os_distro": "v2"}}
        r = n("GET", f"/images/{iid}/metadata")
        assert r.json() == {"metadata": {"os_version": "v1", "os_distro": "v2"}}
        r = n("POST", f"/images/{iid}/metadata", {"metadata": {"os_version": "alt", "arch": "x"}})
        assert r.status_code == 200, r.text
        assert r.json() == {"metadata": {"os_version": "alt", "os_distro": "v2", "arch": "x"}}
        r = n("PUT", f"/images/{iid}/metadata/arch", {"meta": {"arch": "y"}})
        assert r.status_code == 200 and r.json() == {"meta": {"arch": "y"}}
        assert n("GET", f"/images/{iid}/metadata/arch").json() == {"meta": {"arch": "y"}}
        assert n("GET", f"/images/{iid}/metadata/nope").status_code == 404
        r = n("DELETE", f"/images/{iid}/metadata/arch")
        assert r.status_code == 204, r.text
        r = n("DELETE", f"/images/{iid}/metadata/arch")
        assert r.status_code == 404 and r.json()["itemNotFound"]["message"] == "Invalid metadata key"
        # Glance sees the same extra properties
        gi = g("GET", f"/v2/images/{iid}").json()
        assert gi["os_version"] == "alt" and gi["os_distro"] == "v2" and "arch" not in gi
        # a replace drops what is not given
        r = n("PUT", f"/images/{iid}/metadata", {"metadata": {}})
        assert r.status_code == 200 and n("GET", f"/images/{iid}/metadata").json() == {"metadata": {}}
    finally:
        g.delete(im["id"])


def test_metadata_validation(member):
    g, n = member["image"], member["nova"]
    im = active_image(g)
    iid = im["id"]
    try:
        bad = [
            ("POST", "/metadata", {"meta": {"a": "b"}}),
            ("POST", "/metadata", {"metadata": {"a": 1}}),
            ("POST", "/metadata", {"metadata": {"": "x"}}),
            ("POST", "/metadata", {"metadata": {"a" * 256: "x"}}),
            ("POST", "/metadata", {"metadata": {"a": "b" * 256}}),
            ("PUT", "/metadata", {"metadata": {"a": "b"}, "x": 1}),
            ("PUT", "/metadata/a", {"meta": {"a": "b", "c": "d"}}),
            ("PUT", "/metadata/a", {"meta": {}}),
            ("PUT", "/metadata/a", {"meta": {"b": "c"}}),
        ]
        for method, sub, body in bad:
            r = n(method, f"/images/{iid}{sub}", body)
            assert r.status_code == 400, (method, sub, body, r.text)
        r = n("PUT", "/images/00000000-0000-0000-0000-000000000000/metadata/a", {"meta": {"a": "b"}})
        assert r.status_code == 404
        # names of the image's own attributes are not extra properties
        assert n("POST", f"/images/{iid}/metadata", {"metadata": {"status": "x"}}).status_code == 403
        assert n("POST", f"/images/{iid}/metadata", {"metadata": {"name": "x"}}).status_code == 400
    finally:
        g.delete(im["id"])


def test_metadata_quota(nova, member):
    g, n = member["image"], member["nova"]
    pid = member["project"].id
    r = nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"metadata_items": 2}})
    assert r.status_code == 200, r.text
    im = active_image(g)
    try:
        assert n("POST", f"/images/{im['id']}/metadata", {"metadata": {"a": "1", "b": "2"}}).status_code == 200
        r = n("POST", f"/images/{im['id']}/metadata", {"metadata": {"c": "3"}})
        assert r.status_code == 403, r.text
        assert r.json()["forbidden"]["message"] == "Image metadata limit exceeded"
        r = n("PUT", f"/images/{im['id']}/metadata/c", {"meta": {"c": "3"}})
        assert r.status_code == 403, r.text
        assert n("PUT", f"/images/{im['id']}/metadata/a", {"meta": {"a": "9"}}).status_code == 200
        assert n("GET", f"/images/{im['id']}/metadata").json()["metadata"] == {"a": "9", "b": "2"}
    finally:
        nova("DELETE", f"/os-quota-sets/{pid}")
        g.delete(im["id"])


# -- microversions ------------------------------------------------------------------------------

def test_deprecated_from_236(member, mine):
    a, _ = mine
    n = member["nova"]
    assert n("GET", "/images", version="2.35").status_code == 200
    for method, path in (("GET", "/images"), ("GET", "/images/detail"), ("GET", f"/images/{a['id']}"),
                         ("DELETE", f"/images/{a['id']}")):
        r = n(method, path, version="2.36")
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["itemNotFound"]["message"] == "The resource could not be found."
    assert n("GET", f"/images/{a['id']}/metadata", version="2.38").status_code == 200
    assert n("GET", f"/images/{a['id']}/metadata", version="2.39").status_code == 404
    assert n("POST", f"/images/{a['id']}/metadata", {"metadata": {}}, version="2.39").status_code == 404
    assert n("GET", f"/images/{a['id']}", version="latest").status_code == 404


# -- a server's snapshot ------------------------------------------------------------------------

def test_snapshot_listed_by_server(nova, glance, member):
    base = active_image(glance, visibility="public", disk_format="qcow2")
    n = member["nova"]
    sid = None
    try:
        r = n("POST", "/servers", {"server": {"name": uniq("snapsrv"), "imageRef": base["id"],
                                              "flavorRef": "1"}})
        assert r.status_code == 202, r.text
        sid = r.json()["server"]["id"]
        deadline = time.monotonic() + 30
        while True:
            s = n("GET", f"/servers/{sid}").json()["server"]
            if s["status"] == "ACTIVE" and not s.get("OS-EXT-STS:task_state"):
                break
            assert s["status"] != "ERROR" and time.monotonic() < deadline, s
            time.sleep(0.2)
        r = n("POST", f"/servers/{sid}/action", {"createImage": {"name": uniq("snap"),
                                                                 "metadata": {"k": "v"}}})
        assert r.status_code == 202, r.text
        snap = r.headers["Location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + 30
        while True:
            im = n("GET", f"/images/{snap}").json()["image"]
            if im["status"] == "ACTIVE":
                break
            assert im["status"] == "SAVING" and time.monotonic() < deadline, im
            time.sleep(0.2)
        assert im["server"]["id"] == sid
        assert im["metadata"]["image_type"] == "snapshot" and im["metadata"]["k"] == "v"
        assert ids(n("GET", "/images", server=sid)) == [snap]
        assert snap in ids(n("GET", "/images/detail", type="snapshot"))
        assert n("DELETE", f"/images/{snap}").status_code == 204
        assert ids(n("GET", "/images", server=sid)) == []
    finally:
        if sid:
            n("DELETE", f"/servers/{sid}")
        glance.delete(base["id"])


# -- os-instance_usage_audit_log ----------------------------------------------------------------

AUDIT_KEYS = {"hosts_not_run", "log", "num_hosts", "num_hosts_done", "num_hosts_not_run",
              "num_hosts_running", "overall_status", "period_beginning", "period_ending",
              "total_errors", "total_instances"}


def test_usage_audit_index(nova):
    r = nova("GET", "/os-instance_usage_audit_log")
    assert r.status_code == 200, r.text
    log = r.json()["instance_usage_audit_logs"]
    assert set(log) == AUDIT_KEYS
    assert log["num_hosts"] >= 1 and log["num_hosts_done"] == log["num_hosts"]
    assert log["num_hosts_not_run"] == 0 and log["hosts_not_run"] == []
    assert log["overall_status"] == "ALL hosts done. 0 errors."
    assert log["period_beginning"].endswith("-01 00:00:00")
    for host, entry in log["log"].items():
        assert entry["state"] == "DONE" and entry["errors"] == 0
        assert entry["message"].startswith(f"Instance usage audit ran for host {host}, ")


def test_usage_audit_periods(nova):
    def period(ts):
        r = nova("GET", "/os-instance_usage_audit_log/" + requests.utils.quote(ts))
        assert r.status_code == 200, r.text
        log = r.json()["instance_usage_audit_log"]
        return log["period_beginning"], log["period_ending"]

    assert period("2024-03-15 10:00:00") == ("2024-02-01 00:00:00", "2024-03-01 00:00:00")
    assert period("2024-03-01 00:00:00") == ("2024-01-01 00:00:00", "2024-02-01 00:00:00")
    assert period("2024-03-01 00:00:00.5") == ("2024-02-01 00:00:00", "2024-03-01 00:00:00")
    assert period("2024-01-10 01:02:03") == ("2023-12-01 00:00:00", "2024-01-01 00:00:00")
    for bad in ("invalid_time", "2024-02-30 00:00:00", "2024-03-01T00:00:00", "2024-03-01"):
        r = nova("GET", "/os-instance_usage_audit_log/" + requests.utils.quote(bad))
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["badRequest"]["message"] == f"Invalid timestamp for date {bad}"


def test_usage_audit_counts_instances(nova, glance, member):
    """A server launched now belongs to this month's period (asked for with a date next month)."""
    base = active_image(glance, visibility="public", disk_format="qcow2")
    n = member["nova"]
    r = n("POST", "/servers", {"server": {"name": uniq("audit"), "imageRef": base["id"], "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    try:
        deadline = time.monotonic() + 30
        while n("GET", f"/servers/{sid}").json()["server"]["status"] != "ACTIVE":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        t = time.gmtime()
        y, m = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
        r = nova("GET", "/os-instance_usage_audit_log/" + requests.utils.quote(f"{y}-{m:02d}-02 00:00:00"))
        assert r.status_code == 200, r.text
        log = r.json()["instance_usage_audit_log"]
        assert log["period_beginning"] == f"{t.tm_year}-{t.tm_mon:02d}-01 00:00:00"
        assert log["total_instances"] >= 1
        assert sum(e["instances"] for e in log["log"].values()) == log["total_instances"]
        # an old period holds none of today's servers
        r = nova("GET", "/os-instance_usage_audit_log/" + requests.utils.quote("2001-02-03 00:00:00"))
        assert r.json()["instance_usage_audit_log"]["total_instances"] == 0
    finally:
        n("DELETE", f"/servers/{sid}")
        glance.delete(base["id"])


def test_usage_audit_admin_only(member):
    n = member["nova"]
    assert n("GET", "/os-instance_usage_audit_log").status_code == 403
    r = n("GET", "/os-instance_usage_audit_log/" + requests.utils.quote("2024-03-15 10:00:00"))
    assert r.status_code == 403, r.text
