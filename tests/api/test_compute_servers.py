"""Servers on the fake driver end to end: create → ACTIVE (openstacksdk, the CLI, raw HTTP), the
views per microversion, list filters and paging, actions and their state changes, quotas (403),
another project's server (404), metadata and tags, delete (the row stays for changes-since),
multi-create spreading over hosts, server groups (anti-affinity that cannot fit → ERROR with
Nova's fault), resize/confirm/revert, rebuild, createImage, instance actions, and the start-up
repair after a kill -9 in the middle of a build.

This module runs its own cloud with three fake hosts (and, for the repair test, one whose fake
builds take long), so what it checks does not depend on the session cloud."""

import base64
import time

import pytest
import requests

from conftest import project_user, qcow2_file, scratch_db, start_cloud, stop_cloud, uniq

HOSTS = 3


class Nova:
    """Plain HTTP against /compute/v2.1 with a token; version=X.Y sends OpenStack-API-Version."""

    def __init__(self, cloud, token, version=None):
        self.base = cloud.url + "/compute/v2.1"
        self.headers = {"X-Auth-Token": token}
        self.version = version

    def __call__(self, method, path, body=None, *, version=None, **params):
        h = dict(self.headers)
        v = version or self.version
        if v:
            h["OpenStack-API-Version"] = f"compute {v}"
        return requests.request(method, self.base + path, json=body, headers=h,
                                params=params or None, timeout=30)

    def create(self, image, flavor="1", expect=202, version=None, **attrs):
        attrs.setdefault("name", uniq("srv"))
        body = {"server": {"imageRef": image, "flavorRef": flavor, **attrs}}
        if version and tuple(map(int, version.split("."))) >= (2, 37):
            body["server"].setdefault("networks", "none")
        r = self("POST", "/servers", body, version=version)
        assert r.status_code == expect, r.text
        return r.json()

    def show(self, sid, version=None):
        r = self("GET", f"/servers/{sid}", version=version)
        assert r.status_code == 200, r.text
        return r.json()["server"]

    def wait(self, sid, statuses=("ACTIVE",), timeout=30, version=None):
        deadline = time.monotonic() + timeout
        while True:
            s = self.show(sid, version=version)
            if s["status"] in statuses and not s.get("OS-EXT-STS:task_state"):
                return s
            assert s["status"] != "ERROR" or "ERROR" in statuses, s
            assert time.monotonic() < deadline, f"server {sid} still {s['status']}: {s}"
            time.sleep(0.1)

    def action(self, sid, name, arg=None, expect=202, version=None):
        r = self("POST", f"/servers/{sid}/action", {name: arg}, version=version)
        assert r.status_code == expect, r.text
        return r

    def delete(self, sid):
        r = self("DELETE", f"/servers/{sid}")
        assert r.status_code in (204, 404), r.text

    def wait_gone(self, sid, timeout=30):
        deadline = time.monotonic() + timeout
        while self("GET", f"/servers/{sid}").status_code != 404:
            assert time.monotonic() < deadline, f"server {sid} not deleted"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def c3(tmp_path_factory):
    """A cloud of its own with three fake hosts."""
    c = start_cloud(tmp_path_factory.mktemp("servers"), {"compute": {"fake_hosts": HOSTS}},
                    db=scratch_db())
    yield c
    stop_cloud(c)


@pytest.fixture(scope="module")
def admin3(c3):
    return c3.conn()


@pytest.fixture(scope="module")
def nova(c3, admin3):
    return Nova(c3, admin3.auth_token)


@pytest.fixture(scope="module")
def image(admin3, tmp_path_factory):
    data = qcow2_file(tmp_path_factory.mktemp("img") / "s.qcow2", 1 << 20)
    img = admin3.image.create_image(name=uniq("srv-img"), disk_format="qcow2",
                                    container_format="bare", visibility="public", data=data)
    return img.id


@pytest.fixture(scope="module")
def member(c3, admin3):
    u = project_user(c3, admin3)
    u["nova"] = Nova(c3, u["conn"].auth_token)
    yield u
    u["cleanup"]()


# -- create, show, views ---------------------------------------------------------------------

def test_create_with_sdk_reaches_active(admin3, image):
    flavor = admin3.compute.find_flavor("m1.tiny")
    s = admin3.compute.create_server(name=uniq("sdk"), image_id=image, flavor_id=flavor.id,
                                     networks="none")
    assert s.admin_password
    s = admin3.compute.wait_for_server(s, status="ACTIVE", wait=30)
    assert s.status == "ACTIVE"
    assert s.power_state == 1 and s.vm_state == "active" and s.task_state is None
    assert s.launched_at
    assert s.hypervisor_hostname.startswith("fake-host-")
    admin3.compute.delete_server(s)
    admin3.compute.wait_for_delete(s, wait=30)


def test_create_with_cli_wait(c3, image):
    name = uniq("cli")
    out = c3.cli_json("server", "create", "--image", image, "--flavor", "m1.tiny", "--wait", name)
    assert out["status"] == "ACTIVE"
    assert out["name"] == name
    c3.cli("server", "delete", "--wait", name, check=True)


def test_create_response_and_views(nova, image):
    r = nova("POST", "/servers", {"server": {"name": uniq("v"), "imageRef": image, "flavorRef": "1",
                                             "metadata": {"k": "v"}}})
    assert r.status_code == 202, r.text
    body = r.json()["server"]
    assert set(body) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert r.headers["Location"].endswith("/servers/" + body["id"])
    sid = body["id"]
    s = nova.wait(sid)
    # v2.1: exactly Nova's keys, admin sees the extended attributes
    assert s["metadata"] == {"k": "v"}
    assert s["image"]["id"] == image and s["flavor"]["id"] == "1"
    assert s["addresses"] == {} and s["hostId"]
    assert s["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    assert "locked" not in s and "description" not in s and "tags" not in s
    assert "OS-EXT-SRV-ATTR:reservation_id" not in s
    s = nova.show(sid, version="2.79")
    assert s["locked"] is False and s["locked_reason"] is None and s["tags"] == []
    assert s["flavor"]["original_name"] == "m1.tiny" and s["flavor"]["vcpus"] == 1
    assert s["host_status"] == "UP" and s["server_groups"] == []
    assert s["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    assert s["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
    assert s["trusted_image_certificates"] is None
    nova.delete(sid)


def test_create_validation(nova, image):
    bad = [
        ({"name": "x", "flavorRef": "1"}, 400),                        # no imageRef
        ({"name": "", "imageRef": image, "flavorRef": "1"}, 400),
        ({"name": " lead", "imageRef": image, "flavorRef": "1"}, 400),
        ({"name": "x", "imageRef": "nope", "flavorRef": "1"}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "999"}, 400),   # no such flavor
        ({"name": "x", "imageRef": image, "flavorRef": "1", "bogus": 1}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "1", "key_name": "missing"}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "1", "user_data": "not base64!"}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "1", "min_count": 3, "max_count": 2}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "1", "availability_zone": "nowhere"}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "1",
          "networks": [{"uuid": "f1c8c1d0-2a7e-4a68-9d6e-0a2fd3d0e4b1"}]}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "1",
          "security_groups": [{"name": "nope"}]}, 400),
        ({"name": "x", "imageRef": "a1c8c1d0-2a7e-4a68-9d6e-0a2fd3d0e4b1", "flavorRef": "1"}, 400),
        ({"name": "x", "imageRef": image, "flavorRef": "1", "metadata": {"k": 1}}, 400),
    ]
    for server, status in bad:
        r = nova("POST", "/servers", {"server": server})
        assert r.status_code == status, (server, r.text)
        assert "badRequest" in r.json(), r.text
    r = nova("POST", "/servers", {"server": {"name": "x", "imageRef": image, "flavorRef": "1",
                                             "networks": [{"uuid": "f1c8c1d0-2a7e-4a68-9d6e-0a2fd3d0e4b1"}]}})
    assert "Network f1c8c1d0-2a7e-4a68-9d6e-0a2fd3d0e4b1 could not be found." in r.text
    # 2.37: networks is required, "none" and "auto" are accepted
    r = nova("POST", "/servers", {"server": {"name": "x", "imageRef": image, "flavorRef": "1"}},
             version="2.37")
    assert r.status_code == 400, r.text
    s = nova.create(image, version="2.37", networks="auto")
    nova.delete(s["server"]["id"])
    r = nova("POST", "/servers", "not an object")
    assert r.status_code == 400


def test_user_data_tags_description_at_versions(nova, image):
    ud = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    s = nova.create(image, version="2.52", user_data=ud, tags=["a", "b"], description="desc")
    sid = s["server"]["id"]
    v = nova.wait(sid, version="2.52")
    assert v["tags"] == ["a", "b"] and v["description"] == "desc"
    assert v["OS-EXT-SRV-ATTR:user_data"] == ud
    r = nova("POST", "/servers", {"server": {"name": "x", "imageRef": image, "flavorRef": "1",
                                             "tags": ["a"]}}, version="2.51")
    assert r.status_code == 400
    nova.delete(sid)


# -- list ------------------------------------------------------------------------------------

def test_list_filters_and_paging(nova, image):
    prefix = uniq("lst")
    ids = []
    for i in range(4):
        ids.append(nova.create(image, name=f"{prefix}-{i}", version="2.52",
                               tags=["even" if i % 2 == 0 else "odd"])["server"]["id"])
    for sid in ids:
        nova.wait(sid)
    r = nova("GET", "/servers", name=f"^{prefix}-[12]$")
    assert r.status_code == 200
    assert {s["id"] for s in r.json()["servers"]} == {ids[1], ids[2]}
    r = nova("GET", "/servers/detail", name=prefix, status="ACTIVE", flavor="1", image=image)
    assert {s["id"] for s in r.json()["servers"]} == set(ids)
    r = nova("GET", "/servers", name=prefix, status="SHUTOFF")
    assert r.json()["servers"] == []
    assert nova("GET", "/servers", status="NOPE", version="2.38").status_code == 400
    r = nova("GET", "/servers", name=prefix, tags="even", version="2.26")
    assert {s["id"] for s in r.json()["servers"]} == {ids[0], ids[2]}
    r = nova("GET", "/servers", name=prefix, **{"not-tags-any": "even"}, version="2.26")
    assert {s["id"] for s in r.json()["servers"]} == {ids[1], ids[3]}
    # paging: newest first, two at a time, with a next link
    r = nova("GET", "/servers", name=prefix, limit=2)
    page = r.json()
    assert [s["id"] for s in page["servers"]] == [ids[3], ids[2]]
    nxt = page["servers_links"][0]["href"]
    assert "marker=" + ids[2] in nxt
    r = requests.get(nxt, headers=nova.headers, timeout=30)
    assert [s["id"] for s in r.json()["servers"]] == [ids[1], ids[0]]
    assert nova("GET", "/servers", marker="00000000-0000-0000-0000-00000000dead").status_code == 400
    r = nova("GET", "/servers", name=prefix, sort_key="display_name", sort_dir="asc")
    assert [s["name"] for s in r.json()["servers"]] == sorted(f"{prefix}-{i}" for i in range(4))
    assert nova("GET", "/servers", sort_key="bogus").status_code == 400
    assert nova("GET", "/servers", bogus="1", version="2.75").status_code == 400
    assert nova("GET", "/servers", bogus="1", version="2.74").status_code == 200
    # ip filters match nothing: no networking service gives addresses
    assert nova("GET", "/servers", ip="10.0.0.1").json()["servers"] == []
    # locked at 2.73
    nova.action(ids[0], "lock")
    r = nova("GET", "/servers", name=prefix, locked="true", version="2.73")
    assert [s["id"] for s in r.json()["servers"]] == [ids[0]]
    nova.action(ids[0], "unlock")
    # changes-since includes deleted servers
    since = nova.show(ids[3])["updated"]
    nova.delete(ids[3])
    nova.wait_gone(ids[3])
    r = nova("GET", "/servers/detail", **{"changes-since": since})
    found = {s["id"]: s["status"] for s in r.json()["servers"]}
    assert found.get(ids[3]) == "DELETED"
    r = nova("GET", "/servers/detail", name=prefix, deleted="true")
    assert [s["id"] for s in r.json()["servers"]] == [ids[3]]
    for sid in ids[:3]:
        nova.delete(sid)


# -- actions ---------------------------------------------------------------------------------

def test_power_actions_and_state_checks(nova, image):
    sid = nova.create(image)["server"]["id"]
    nova.wait(sid)
    nova.action(sid, "os-stop")
    s = nova.wait(sid, ("SHUTOFF",))
    assert s["OS-EXT-STS:power_state"] == 4 and s["OS-EXT-STS:vm_state"] == "stopped"
    r = nova.action(sid, "os-stop", expect=409)
    assert f"Cannot 'stop' instance {sid} while it is in vm_state stopped" in r.text
    nova.action(sid, "os-start")
    nova.wait(sid)
    nova.action(sid, "reboot", {"type": "SOFT"})
    nova.wait(sid)
    nova.action(sid, "reboot", {"type": "HARD"})
    nova.wait(sid)
    nova.action(sid, "pause")
    assert nova.wait(sid, ("PAUSED",))["OS-EXT-STS:power_state"] == 3
    nova.action(sid, "unpause")
    nova.wait(sid)
    nova.action(sid, "suspend")
    assert nova.wait(sid, ("SUSPENDED",))["OS-EXT-STS:power_state"] == 7
    nova.action(sid, "resume")
    nova.wait(sid)
    nova.action(sid, "resume", expect=409)
    nova.action(sid, "reboot", {"type": "sideways"}, expect=400)
    r = nova("POST", f"/servers/{sid}/action", {"levitate": None})
    assert r.status_code == 400 and "There is no such action: levitate" in r.text
    r = nova("POST", f"/servers/{sid}/action", {"os-stop": None, "os-start": None})
    assert r.status_code == 400
    out = nova.action(sid, "os-getConsoleOutput", {"length": 1}, expect=200).json()["output"]
    assert out.count("\n") <= 1 and out
    r = nova.action(sid, "os-getVNCConsole", {"type": "novnc"}, expect=501)
    r = nova("POST", f"/servers/{sid}/remote-consoles",
             {"remote_console": {"protocol": "vnc", "type": "novnc"}}, version="2.6")
    assert r.status_code == 501, r.text
    nova.action(sid, "changePassword", {"adminPass": "s3cret"})
    nova.wait(sid)
    nova.action(sid, "os-resetState", {"state": "error"})
    assert nova.show(sid)["status"] == "ERROR"
    nova.action(sid, "os-resetState", {"state": "active"})
    r = nova.action(sid, "restore", expect=409)
    assert "vm_state active" in r.text
    # actions recorded, with events
    acts = nova("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
    names = [a["action"] for a in acts]
    for n in ("create", "stop", "start", "reboot", "pause", "unpause", "suspend", "resume"):
        assert n in names, names
    req = [a for a in acts if a["action"] == "create"][0]["request_id"]
    a = nova("GET", f"/servers/{sid}/os-instance-actions/{req}", version="2.62").json()["instanceAction"]
    events = {e["event"]: e for e in a["events"]}
    assert events["compute__do_build_and_run_instance"]["result"] == "Success"
    assert events["compute__do_build_and_run_instance"]["host"].startswith("fake-host-")
    r = nova("GET", f"/servers/{sid}/os-instance-actions", limit=2, version="2.58").json()
    assert len(r["instanceActions"]) == 2 and r["links"]
    nova.action(sid, "forceDelete")
    nova.wait_gone(sid)
    # a deleted server's actions stay readable from 2.21
    assert nova("GET", f"/servers/{sid}/os-instance-actions", version="2.21").status_code == 200
    assert nova("GET", f"/servers/{sid}/os-instance-actions").status_code == 404


def test_lock_blocks_non_admin(nova, member, image):
    mn = member["nova"]
    sid = mn.create(image)["server"]["id"]
    mn.wait(sid)
    mn.action(sid, "lock", {"locked_reason": "maintenance"}, version="2.73")
    s = mn.show(sid, version="2.73")
    assert s["locked"] is True and s["locked_reason"] == "maintenance"
    r = mn.action(sid, "os-stop", expect=409)
    assert f"Instance {sid} is locked" in r.text
    assert mn("DELETE", f"/servers/{sid}").status_code == 409
    nova.action(sid, "os-stop")           # an admin is not held by the lock
    nova.wait(sid, ("SHUTOFF",))
    mn.action(sid, "unlock")
    mn.delete(sid)
    mn.wait_gone(sid)


def test_rebuild_resize_and_snapshot(nova, admin3, image):
    sid = nova.create(image, name=uniq("mv"))["server"]["id"]
    nova.wait(sid)
    r = nova.action(sid, "rebuild", {"imageRef": image, "name": "rebuilt", "metadata": {"a": "b"}},
                    version="2.57")
    body = r.json()["server"]
    assert body["name"] == "rebuilt" and body["adminPass"] and "user_data" in body
    assert body["status"] == "REBUILD"
    s = nova.wait(sid)
    assert s["metadata"] == {"a": "b"}
    # resize, confirm
    nova.action(sid, "resize", {"flavorRef": "1"}, expect=400)     # same flavor
    nova.action(sid, "resize", {"flavorRef": "2"})
    s = nova.wait(sid, ("VERIFY_RESIZE",))
    assert s["flavor"]["id"] == "2"
    migs = nova("GET", "/os-migrations", instance_uuid=sid, version="2.59").json()["migrations"]
    assert migs[0]["status"] == "finished" and migs[0]["migration_type"] == "resize"
    nova.action(sid, "confirmResize", expect=204)
    s = nova.wait(sid)
    assert s["flavor"]["id"] == "2"
    nova.action(sid, "confirmResize", expect=400)
    # resize, revert
    nova.action(sid, "resize", {"flavorRef": "3"})
    nova.wait(sid, ("VERIFY_RESIZE",))
    nova.action(sid, "revertResize")
    s = nova.wait(sid)
    assert s["flavor"]["id"] == "2"
    # snapshot: a real image appears
    r = nova.action(sid, "createImage", {"name": uniq("snap")}, version="2.45")
    iid = r.json()["image_id"]
    deadline = time.monotonic() + 30
    while admin3.image.get_image(iid).status != "active":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    img = admin3.image.get_image(iid)
    assert img.size > 0 and img.instance_uuid == sid
    nova.wait(sid)
    r = nova.action(sid, "createImage", {"name": uniq("snap")})
    assert "/image/v2/images/" in r.headers["Location"]
    nova.wait(sid)
    nova.delete(sid)


# -- quotas, projects, sub-resources ---------------------------------------------------------

def test_quota_exceeded_is_403(c3, admin3, image):
    u = project_user(c3, admin3)
    try:
        admin3.compute.update_quota_set(u["project"].id, instances=2)
    except Exception:
        Nova(c3, admin3.auth_token)("PUT", f"/os-quota-sets/{u['project'].id}",
                                    {"quota_set": {"instances": 2}})
    mn = Nova(c3, u["conn"].auth_token)
    try:
        a = mn.create(image)["server"]["id"]
        b = mn.create(image)["server"]["id"]
        r = mn("POST", "/servers", {"server": {"name": "x", "imageRef": image, "flavorRef": "1"}})
        assert r.status_code == 403, r.text
        assert ("Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
                in r.json()["forbidden"]["message"])
        # a multi-create is trimmed to what fits when min_count does
        mn.delete(a)
        mn.wait_gone(a)
        r = mn("POST", "/servers", {"server": {"name": "y", "imageRef": image, "flavorRef": "1",
                                               "min_count": 1, "max_count": 3,
                                               "return_reservation_id": True}})
        assert r.status_code == 202, r.text
        resv = r.json()["reservation_id"]
        listed = mn("GET", "/servers/detail", reservation_id=resv).json()["servers"]
        assert len(listed) == 1
        mn.delete(b)
        mn.delete(listed[0]["id"])
        r = mn("POST", "/servers", {"server": {"name": "m", "imageRef": image, "flavorRef": "1",
                                               "metadata": {str(i): "v" for i in range(200)}}})
        assert r.status_code == 403 and "Maximum number of metadata items exceeds" in r.text
    finally:
        u["cleanup"]()


def test_other_project_sees_404(nova, member, image):
    sid = nova.create(image)["server"]["id"]
    mn = member["nova"]
    for method, path, body in (("GET", f"/servers/{sid}", None),
                               ("PUT", f"/servers/{sid}", {"server": {"name": "x"}}),
                               ("DELETE", f"/servers/{sid}", None),
                               ("POST", f"/servers/{sid}/action", {"os-stop": None}),
                               ("GET", f"/servers/{sid}/metadata", None),
                               ("GET", f"/servers/{sid}/os-instance-actions", None)):
        r = mn(method, path, body)
        assert r.status_code == 404, (method, path, r.text)
    assert sid not in {s["id"] for s in mn("GET", "/servers").json()["servers"]}
    assert mn("GET", "/servers", all_tenants="1").status_code == 403
    nova.delete(sid)


def test_update_metadata_and_tags(nova, image):
    sid = nova.create(image)["server"]["id"]
    nova.wait(sid)
    r = nova("PUT", f"/servers/{sid}", {"server": {"name": "renamed", "description": "d"}},
             version="2.19")
    assert r.status_code == 200 and r.json()["server"]["name"] == "renamed"
    assert r.json()["server"]["description"] == "d"
    assert nova("PUT", f"/servers/{sid}", {"server": {"description": "d"}}).status_code == 400
    r = nova("POST", f"/servers/{sid}/metadata", {"metadata": {"a": "1", "b": "2"}})
    assert r.json()["metadata"] == {"a": "1", "b": "2"}
    r = nova("PUT", f"/servers/{sid}/metadata", {"metadata": {"c": "3"}})
    assert r.json()["metadata"] == {"c": "3"}
    r = nova("PUT", f"/servers/{sid}/metadata/d", {"meta": {"d": "4"}})
    assert r.status_code == 200 and r.json() == {"meta": {"d": "4"}}
    assert nova("PUT", f"/servers/{sid}/metadata/d", {"meta": {"e": "4"}}).status_code == 400
    assert nova("GET", f"/servers/{sid}/metadata/d").json() == {"meta": {"d": "4"}}
    assert nova("DELETE", f"/servers/{sid}/metadata/d").status_code == 204
    assert nova("GET", f"/servers/{sid}/metadata/d").status_code == 404
    r = nova("POST", f"/servers/{sid}/metadata", {"metadata": {str(i): "v" for i in range(200)}})
    assert r.status_code == 403
    # tags
    assert nova("GET", f"/servers/{sid}/tags").status_code == 404          # before 2.26
    v = "2.26"
    assert nova("PUT", f"/servers/{sid}/tags/one", version=v).status_code == 201
    assert nova("PUT", f"/servers/{sid}/tags/one", version=v).status_code == 204
    assert nova("GET", f"/servers/{sid}/tags/one", version=v).status_code == 204
    assert nova("GET", f"/servers/{sid}/tags/two", version=v).status_code == 404
    r = nova("PUT", f"/servers/{sid}/tags", {"tags": ["x", "y"]}, version=v)
    assert r.json() == {"tags": ["x", "y"]}
    assert nova("PUT", f"/servers/{sid}/tags", {"tags": [f"t{i}" for i in range(51)]},
                version=v).status_code == 400
    assert nova("DELETE", f"/servers/{sid}/tags/x", version=v).status_code == 204
    assert nova("GET", f"/servers/{sid}/tags", version=v).json() == {"tags": ["y"]}
    assert nova("DELETE", f"/servers/{sid}/tags", version=v).status_code == 204
    assert nova("GET", f"/servers/{sid}/tags", version=v).json() == {"tags": []}
    # ips and password: no networking service, nothing to show
    assert nova("GET", f"/servers/{sid}/ips").json() == {"addresses": {}}
    assert nova("GET", f"/servers/{sid}/ips/private").status_code == 404
    assert nova("GET", f"/servers/{sid}/os-server-password").json() == {"password": ""}
    assert nova("DELETE", f"/servers/{sid}/os-server-password").status_code == 204
    d = nova("GET", f"/servers/{sid}/diagnostics", version="2.48").json()
    assert d["state"] == "running" and d["num_cpus"] == 1
    nova.delete(sid)


def test_delete_keeps_row_and_releases_allocations(c3, nova, image):
    sid = nova.create(image)["server"]["id"]
    s = nova.wait(sid)
    node = s["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    plc = requests.get(f"{c3.url}/placement/allocations/{sid}",
                       headers={"X-Auth-Token": nova.headers["X-Auth-Token"],
                                "OpenStack-API-Version": "placement 1.28"}, timeout=10)
    assert plc.status_code == 200 and plc.json()["allocations"], plc.text
    nova.delete(sid)
    nova.wait_gone(sid)
    plc = requests.get(f"{c3.url}/placement/allocations/{sid}",
                       headers={"X-Auth-Token": nova.headers["X-Auth-Token"],
                                "OpenStack-API-Version": "placement 1.28"}, timeout=10)
    assert plc.json()["allocations"] == {}, plc.text
    r = nova("GET", "/servers/detail", deleted="true", uuid=sid)
    (gone,) = r.json()["servers"]
    assert gone["status"] == "DELETED" and gone["OS-SRV-USG:terminated_at"]
    assert node


# -- scheduling ------------------------------------------------------------------------------

def test_multi_create_spreads_over_hosts(nova, image):
    name = uniq("multi")
    r = nova("POST", "/servers", {"server": {"name": name, "imageRef": image, "flavorRef": "1",
                                             "min_count": HOSTS, "max_count": HOSTS}})
    assert r.status_code == 202, r.text
    servers = nova("GET", "/servers/detail", name=f"^{name}-").json()["servers"]
    assert len(servers) == HOSTS
    hosts = set()
    for s in servers:
        s = nova.wait(s["id"])
        hosts.add(s["OS-EXT-SRV-ATTR:host"])
    assert len(hosts) == HOSTS
    names = sorted(s["name"] for s in servers)
    assert names == [f"{name}-{i}" for i in range(1, HOSTS + 1)]
    for s in servers:
        nova.delete(s["id"])


def test_anti_affinity_that_cannot_fit_errors(nova, image):
    g = nova("POST", "/os-server-groups", {"server_group": {"name": uniq("aa"),
                                                            "policies": ["anti-affinity"]}})
    assert g.status_code == 200, g.text
    gid = g.json()["server_group"]["id"]
    ids = []
    for _ in range(HOSTS + 1):
        r = nova("POST", "/servers", {"server": {"name": uniq("aa"), "imageRef": image, "flavorRef": "1"},
                                      "os:scheduler_hints": {"group": gid}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
    results = [nova.wait(i, ("ACTIVE", "ERROR")) for i in ids]
    active = [s for s in results if s["status"] == "ACTIVE"]
    errors = [s for s in results if s["status"] == "ERROR"]
    assert len(active) == HOSTS and len(errors) == 1
    assert len({s["OS-EXT-SRV-ATTR:host"] for s in active}) == HOSTS
    fault = errors[0]["fault"]
    assert fault["code"] == 500
    assert fault["message"] == "No valid host was found. There are not enough hosts available."
    for i in ids:
        nova.delete(i)


def test_cold_migrate_moves_to_another_host(nova, member, image):
    sid = nova.create(image)["server"]["id"]
    src = nova.wait(sid)["OS-EXT-SRV-ATTR:host"]
    r = nova.action(sid, "migrate", {"host": src}, expect=400, version="2.56")
    assert "Cannot migrate to the host where the server exists." in r.text
    nova.action(sid, "migrate", {"host": "no-such-host"}, expect=400, version="2.56")
    member["nova"].action(sid, "migrate", expect=404)           # not theirs
    nova.action(sid, "migrate")
    s = nova.wait(sid, ("VERIFY_RESIZE",))
    assert s["OS-EXT-SRV-ATTR:host"] != src
    nova.action(sid, "confirmResize", expect=204)
    s = nova.wait(sid)
    assert s["OS-EXT-SRV-ATTR:host"] != src and s["flavor"]["id"] == "1"
    migs = nova("GET", "/os-migrations", instance_uuid=sid, version="2.23").json()["migrations"]
    assert [m["migration_type"] for m in migs] == ["migration"]
    assert migs[0]["status"] == "confirmed" and migs[0]["source_compute"] == src
    nova.delete(sid)


def test_live_migrate_keeps_state_and_moves(nova, image):
    sid = nova.create(image)["server"]["id"]
    src = nova.wait(sid)["OS-EXT-SRV-ATTR:host"]
    nova.action(sid, "os-migrateLive", {"host": src, "block_migration": "auto"}, expect=400, version="2.25")
    nova.action(sid, "os-migrateLive", {"host": None, "block_migration": False}, expect=400)  # no disk_over_commit
    nova.action(sid, "pause")
    nova.wait(sid, ("PAUSED",))
    nova.action(sid, "os-migrateLive", {"host": None, "block_migration": "auto"}, version="2.25")
    s = nova.wait(sid, ("PAUSED",))
    assert s["OS-EXT-SRV-ATTR:host"] != src and s["OS-EXT-STS:power_state"] == 3
    migs = nova("GET", "/os-migrations", instance_uuid=sid, version="2.23").json()["migrations"]
    assert migs[0]["migration_type"] == "live-migration" and migs[0]["status"] == "completed"
    acts = [a["action"] for a in nova("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]]
    assert "live-migration" in acts
    nova.delete(sid)


# -- recovery --------------------------------------------------------------------------------

def test_restart_during_build_leaves_error_not_build(tmp_path):
    """kill -9 while the fake driver is building; the next start makes the instance ERROR with a
    fault and frees its allocation, and the cloud builds new servers again."""
    db = scratch_db()
    conf = {"compute": {"fake_hosts": 1, "fake_build_delay_ms": 60000}}
    c = start_cloud(tmp_path, conf, db=db)
    admin = c.conn()
    data = qcow2_file(tmp_path / "i.qcow2", 1 << 20)
    img = admin.image.create_image(name=uniq("rec"), disk_format="qcow2", container_format="bare",
                                   visibility="public", data=data)
    n = Nova(c, admin.auth_token)
    sid = n.create(img.id)["server"]["id"]
    deadline = time.monotonic() + 20
    while n.show(sid)["OS-EXT-STS:task_state"] != "spawning":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    c.proc.kill()
    c.proc.wait()
    c = start_cloud(tmp_path, {"compute": {"fake_hosts": 1}}, db=db)
    try:
        n = Nova(c, c.conn().auth_token)
        s = n.show(sid)
        assert s["status"] == "ERROR" and s["OS-EXT-STS:task_state"] is None, s
        assert "interrupted" in s["fault"]["message"]
        sid2 = n.create(img.id)["server"]["id"]
        n.wait(sid2)
        n.delete(sid)
        n.delete(sid2)
    finally:
        stop_cloud(c)
