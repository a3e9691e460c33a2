"""Image members (Glance v2): sharing an image with another project, the member's
pending/accepted/rejected status and what it changes in the member's image list, who may add,
change, list and remove members, and that one project cannot see, download, share or delete
another's images. Three plain-member projects: owner, guest and stranger."""

import datetime
import os
import uuid

import pytest

from conftest import project_user


@pytest.fixture(scope="module")
def owner(cloud, admin):
    u = project_user(cloud, admin)
    yield u
    u["cleanup"]()


@pytest.fixture(scope="module")
def guest(cloud, admin):
    u = project_user(cloud, admin)
    yield u
    u["cleanup"]()


@pytest.fixture(scope="module")
def stranger(cloud, admin):
    u = project_user(cloud, admin)
    yield u
    u["cleanup"]()


DATA = os.urandom(3000)


@pytest.fixture
def shared(owner):
    """An active shared image of owner's (no members yet)."""
    api = owner["image"]
    image = api.create(visibility="shared", disk_format="raw", container_format="bare",
                       tags=["members-test"])
    assert api.upload(image["id"], DATA).status_code == 204
    yield image
    api.delete(image["id"])


def ids(r):
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["images"]]


def add_member(api, image_id, project_id):
    r = api("POST", f"/v2/images/{image_id}/members", {"member": project_id})
    assert r.status_code == 200, r.text
    return r.json()


def set_status(api, image_id, project_id, status):
    return api("PUT", f"/v2/images/{image_id}/members/{project_id}", {"status": status})


def test_member_shape(owner, guest, shared):
    iid, pid = shared["id"], guest["project"].id
    m = add_member(owner["image"], iid, pid)
    assert m["member_id"] == pid and m["image_id"] == iid and m["status"] == "pending"
    assert m["schema"] == "/v2/schemas/member"
    for key in ("created_at", "updated_at"):
        datetime.datetime.strptime(m[key], "%Y-%m-%dT%H:%M:%SZ")
    r = owner["image"]("GET", f"/v2/images/{iid}/members")
    assert r.status_code == 200, r.text
    assert r.json() == {"members": [m], "schema": "/v2/schemas/members"}
    r = owner["image"]("GET", f"/v2/images/{iid}/members/{pid}")
    assert r.status_code == 200 and r.json() == m, r.text
    # the same member twice
    r = owner["image"]("POST", f"/v2/images/{iid}/members", {"member": pid})
    assert r.status_code == 409, r.text


def test_member_status_and_lists(owner, guest, shared):
    iid, pid = shared["id"], guest["project"].id
    g = guest["image"]
    # before sharing: invisible
    assert g("GET", f"/v2/images/{iid}").status_code == 404
    assert iid not in ids(g("GET", "/v2/images", member_status="all"))
    add_member(owner["image"], iid, pid)

    # pending: the member may see it, but it is listed only when asked for
    assert g("GET", f"/v2/images/{iid}").status_code == 200
    assert iid not in ids(g("GET", "/v2/images"))
    assert iid not in ids(g("GET", "/v2/images", visibility="shared"))
    assert iid in ids(g("GET", "/v2/images", member_status="pending"))
    assert iid in ids(g("GET", "/v2/images", member_status="all"))
    assert iid in ids(g("GET", "/v2/images", visibility="shared", member_status="pending"))
    assert iid not in ids(g("GET", "/v2/images", member_status="accepted"))

    r = set_status(g, iid, pid, "accepted")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["member_id"] == pid
    assert iid in ids(g("GET", "/v2/images"))
    assert iid in ids(g("GET", "/v2/images", visibility="shared"))
    assert iid not in ids(g("GET", "/v2/images", member_status="pending"))
    r = g("GET", f"/v2/images/{iid}/file")
    assert r.status_code == 200 and r.content == DATA

    r = set_status(g, iid, pid, "rejected")
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    assert iid not in ids(g("GET", "/v2/images"))
    assert iid in ids(g("GET", "/v2/images", member_status="rejected"))
    assert g("GET", f"/v2/images/{iid}").status_code == 200

    r = set_status(g, iid, pid, "pending")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    assert set_status(g, iid, pid, "bogus").status_code == 400
    r = g("PUT", f"/v2/images/{iid}/members/{pid}", {"state": "accepted"})
    assert r.status_code == 400, r.text

    # the owner does not decide for the member
    r = set_status(owner["image"], iid, pid, "accepted")
    assert r.status_code == 403, r.text
    m = owner["image"]("GET", f"/v2/images/{iid}/members/{pid}").json()
    assert m["status"] == "pending"


def test_member_rights(owner, guest, stranger, shared):
    iid, pid = shared["id"], guest["project"].id
    g, s = guest["image"], stranger["image"]
    add_member(owner["image"], iid, pid)
    assert set_status(g, iid, pid, "accepted").status_code == 200
    # a member may not share further, change, or delete the image
    r = g("POST", f"/v2/images/{iid}/members", {"member": stranger["project"].id})
    assert r.status_code == 403, r.text
    r = g.patch(iid, [{"op": "replace", "path": "/name", "value": "taken"}])
    assert r.status_code == 403, r.text
    r = g("DELETE", f"/v2/images/{iid}")
    assert r.status_code == 403, r.text
    r = g("DELETE", f"/v2/images/{iid}/members/{pid}")
    assert r.status_code == 403, r.text
    assert g.upload(iid, b"x").status_code in (403, 409)
    assert owner["image"]("GET", f"/v2/images/{iid}").json()["name"] == shared["name"]
    # the member sees only its own membership
    add_member(owner["image"], iid, stranger["project"].id)
    r = g("GET", f"/v2/images/{iid}/members")
    assert r.status_code == 200, r.text
    assert [m["member_id"] for m in r.json()["members"]] == [pid]
    r = g("GET", f"/v2/images/{iid}/members/{stranger['project'].id}")
    assert r.status_code == 404, r.text
    all_members = owner["image"]("GET", f"/v2/images/{iid}/members").json()["members"]
    assert sorted(m["member_id"] for m in all_members) == sorted([pid, stranger["project"].id])
    # removing a member takes the image away from it
    r = owner["image"]("DELETE", f"/v2/images/{iid}/members/{pid}")
    assert r.status_code == 204, r.text
    assert g("GET", f"/v2/images/{iid}").status_code == 404
    assert g("GET", f"/v2/images/{iid}/file").status_code == 404
    assert iid not in ids(g("GET", "/v2/images", member_status="all"))
    assert owner["image"]("DELETE", f"/v2/images/{iid}/members/{pid}").status_code == 404
    # the stranger's membership is still there
    assert s("GET", f"/v2/images/{iid}").status_code == 200


def test_non_owner_cannot_add_members(owner, guest, stranger, shared):
    iid = shared["id"]
    # a project that cannot see the image gets 404
    r = stranger["image"]("POST", f"/v2/images/{iid}/members", {"member": stranger["project"].id})
    assert r.status_code == 404, r.text
    assert stranger["image"]("GET", f"/v2/images/{iid}/members").status_code == 404
    r = stranger["image"]("GET", f"/v2/images/{iid}/members/{guest['project'].id}")
    assert r.status_code == 404, r.text
    # even a public image's members are the owner's business
    pub_owner = owner["image"]
    r = pub_owner.patch(iid, [{"op": "replace", "path": "/visibility", "value": "community"}])
    assert r.status_code == 200, r.text
    r = stranger["image"]("POST", f"/v2/images/{iid}/members", {"member": guest["project"].id})
    assert r.status_code == 403, r.text


def test_members_only_for_shared_images(owner, guest):
    api = owner["image"]
    private = api.create(visibility="private")
    try:
        r = api("POST", f"/v2/images/{private['id']}/members", {"member": guest["project"].id})
        assert r.status_code == 403, r.text
        r = api("GET", f"/v2/images/{private['id']}/members")
        assert r.status_code == 403, r.text
    finally:
        api.delete(private["id"])


def test_member_requests_validated(owner, shared):
    api = owner["image"]
    iid = shared["id"]
    for body in ({}, {"member": ""}, {"memberx": "p"}):
        r = api("POST", f"/v2/images/{iid}/members", body)
        assert r.status_code == 400, (body, r.status_code, r.text)
    r = api("POST", f"/v2/images/{iid}/members", data="{nope",
            headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    r = api("POST", f"/v2/images/{uuid.uuid4()}/members", {"member": "p"})
    assert r.status_code == 404, r.text
    assert api("GET", f"/v2/images/{iid}/members/{uuid.uuid4().hex}").status_code == 404
    assert api("DELETE", f"/v2/images/{iid}/members/{uuid.uuid4().hex}").status_code == 404


def test_private_images_stay_private(owner, stranger, cloud):
    api = owner["image"]
    private = api.create(visibility="private", disk_format="raw", container_format="bare")
    iid = private["id"]
    try:
        assert api.upload(iid, DATA).status_code == 204
        s = stranger["image"]
        assert s("GET", f"/v2/images/{iid}").status_code == 404
        assert s("GET", f"/v2/images/{iid}/file").status_code == 404
        assert s("DELETE", f"/v2/images/{iid}").status_code == 404
        assert s.patch(iid, [{"op": "replace", "path": "/name", "value": "x"}]
                       ).status_code == 404
        assert s("PUT", f"/v2/images/{iid}/tags/x").status_code == 404
        assert s("POST", f"/v2/images/{iid}/actions/deactivate").status_code == 404
        for vis in ("all", "private", "shared", None):
            params = {"visibility": vis} if vis else {}
            assert iid not in ids(s("GET", "/v2/images", member_status="all", **params))
        # and through the CLI
        cp = cloud.cli(*stranger["cli_args"], "image", "show", iid)
        assert cp.returncode != 0
        assert "No Image found" in cp.stderr or "404" in cp.stderr or "not found" in \
            cp.stderr.lower(), cp.stderr
        cp = cloud.cli(*stranger["cli_args"], "image", "save", "--file", os.devnull, iid)
        assert cp.returncode != 0
        # still the owner's, unchanged
        assert api("GET", f"/v2/images/{iid}/file").content == DATA
    finally:
        api.delete(iid)


def test_cli_sharing(cloud, owner, guest, stranger, shared):
    iid = shared["id"]
    pid = guest["project"].id
    out = cloud.cli_json(*owner["cli_args"], "image", "add", "project", iid, pid)
    assert out["member_id"] == pid and out["image_id"] == iid and out["status"] == "pending"
    members = cloud.cli_json(*owner["cli_args"], "image", "member", "list", iid)
    assert [(m["Member ID"], m["Status"]) for m in members] == [(pid, "pending")]

    listed = cloud.cli_json(*guest["cli_args"], "image", "list")
    assert iid not in [x["ID"] for x in listed]
    listed = cloud.cli_json(*guest["cli_args"], "image", "list", "--member-status", "pending")
    assert iid in [x["ID"] for x in listed]
    listed = cloud.cli_json(*guest["cli_args"], "image", "list", "--shared",
                            "--member-status", "all")
    assert iid in [x["ID"] for x in listed]

    cloud.cli(*guest["cli_args"], "image", "set", "--accept", iid, check=True)
    members = cloud.cli_json(*owner["cli_args"], "image", "member", "list", iid)
    assert [(m["Member ID"], m["Status"]) for m in members] == [(pid, "accepted")]
    assert iid in [x["ID"] for x in cloud.cli_json(*guest["cli_args"], "image", "list")]
    shown = cloud.cli_json(*guest["cli_args"], "image", "show", iid)
    assert shown["id"] == iid and shown["owner"] == owner["project"].id

    cloud.cli(*guest["cli_args"], "image", "set", "--reject", iid, check=True)
    members = cloud.cli_json(*owner["cli_args"], "image", "member", "list", iid)
    assert [(m["Member ID"], m["Status"]) for m in members] == [(pid, "rejected")]
    assert iid not in [x["ID"] for x in cloud.cli_json(*guest["cli_args"], "image", "list")]

    # the stranger cannot share someone else's image
    cp = cloud.cli(*stranger["cli_args"], "image", "add", "project", iid,
                   stranger["project"].id)
    assert cp.returncode != 0

    cloud.cli(*owner["cli_args"], "image", "remove", "project", iid, pid, check=True)
    assert cloud.cli_json(*owner["cli_args"], "image", "member", "list", iid) == []
    assert cloud.cli(*guest["cli_args"], "image", "show", iid).returncode != 0


def test_sdk_members(owner, guest, shared):
    oc, gc = owner["conn"], guest["conn"]
    iid, pid = shared["id"], guest["project"].id
    m = oc.image.add_member(iid, member_id=pid)
    assert m.status == "pending"
    gc.image.update_member(pid, iid, status="accepted")
    got = oc.image.get_member(pid, iid)
    assert got.status == "accepted"
    assert [x.member_id for x in oc.image.members(iid)] == [pid]
    assert iid in [i.id for i in gc.image.images()]
    oc.image.remove_member(pid, iid)
    assert list(oc.image.members(iid)) == []
