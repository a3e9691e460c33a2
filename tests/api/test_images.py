"""Images (Glance v2): create with every standard field and extra properties, show, list with
filters, sorting and marker pagination, JSON-patch updates with Glance's read-only and reserved
attribute rules, delete and protection, deactivate/reactivate, tags, who may set which
visibility, error answers, the schemas, version discovery, and the `openstack image` commands.
Driven with plain HTTP (exact status codes), openstacksdk and the openstack CLI."""

import datetime
import hashlib
import os
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import ImageApi, project_user, qcow2_file, uniq

STANDARD_KEYS = {
    "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "checksum",
    "os_hash_algo", "os_hash_value", "size", "virtual_size", "disk_format", "container_format",
    "min_disk", "min_ram", "created_at", "updated_at", "tags", "self", "file", "schema",
}
READ_ONLY = ("id", "status", "checksum", "size", "virtual_size", "created_at", "updated_at",
             "os_hash_algo", "os_hash_value", "self", "file", "schema", "direct_url")
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(scope="module")
def img(cloud, admin):
    """ImageApi with the admin token."""
    return ImageApi(cloud, admin.auth_token)


@pytest.fixture(scope="module")
def member(cloud, admin):
    """A plain member of its own project."""
    u = project_user(cloud, admin)
    yield u
    u["cleanup"]()


def ids(r):
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["images"]]


def parse_time(s):
    return datetime.datetime.strptime(s, ISO_SECONDS).replace(tzinfo=datetime.timezone.utc)


# --- version discovery and schemas ---------------------------------------------------------------

def test_version_discovery(cloud):
    import requests

    r = requests.get(cloud.url + "/image", timeout=10)
    assert r.status_code == 300, r.text
    versions = r.json()["versions"]
    current = [v for v in versions if v["status"] == "CURRENT"]
    assert len(current) == 1, versions
    assert all(v["id"].startswith("v2.") for v in versions), versions
    assert {"v2.0", "v2.1"} <= {v["id"] for v in versions}
    for v in versions:
        assert v["status"] in ("CURRENT", "SUPPORTED"), v
        assert v["links"] == [{"rel": "self", "href": cloud.url + "/image/v2/"}], v
    explicit = requests.get(cloud.url + "/image/versions", timeout=10)
    assert explicit.status_code == 200, explicit.text
    assert explicit.json()["versions"] == versions


def test_image_in_catalog(admin, cloud):
    endpoint = admin.session.get_endpoint(service_type="image", interface="public")
    assert endpoint.rstrip("/") in (cloud.url + "/image", cloud.url + "/image/v2")


def test_schemas(img):
    r = img("GET", "/v2/schemas/image")
    assert r.status_code == 200, r.text
    image = r.json()
    assert image["name"] == "image"
    assert STANDARD_KEYS - {"self", "file", "schema"} <= set(image["properties"]), image
    assert image["additionalProperties"] == {"type": "string"}
    disk = image["properties"]["disk_format"]["enum"]
    for fmt in ("raw", "qcow2", "vhd", "vmdk", "vdi", "iso", "ami", "ari", "aki", "vhdx"):
        assert fmt in disk, disk
    assert set(image["properties"]["visibility"]["enum"]) == {
        "public", "private", "shared", "community"}
    assert image["properties"]["id"]["pattern"].startswith("^([0-9a-fA-F]){8}")
    links = {ln["rel"]: ln["href"] for ln in image["links"]}
    assert links["self"] == "{self}" and links["enclosure"] == "{file}"
    assert links["describedby"] == "{schema}"

    r = img("GET", "/v2/schemas/images")
    assert r.status_code == 200, r.text
    images = r.json()
    assert images["name"] == "images"
    assert images["properties"]["images"]["type"] == "array"
    assert images["properties"]["images"]["items"]["name"] == "image"
    assert {"first", "next", "schema"} <= set(images["properties"])

    for name in ("member", "members"):
        r = img("GET", f"/v2/schemas/{name}")
        assert r.status_code == 200, r.text
        assert r.json()["name"] == name
    member = img("GET", "/v2/schemas/member").json()
    assert {"member_id", "image_id", "status", "created_at", "updated_at"} <= set(
        member["properties"])
    assert set(member["properties"]["status"]["enum"]) == {"pending", "accepted", "rejected"}


def test_schemas_need_a_token(cloud):
    import requests

    r = requests.get(cloud.url + "/image/v2/schemas/image", timeout=10)
    assert r.status_code == 401, r.text
    r = requests.get(cloud.url + "/image/v2/images", timeout=10)
    assert r.status_code == 401, r.text


# --- create and show ----------------------------------------------------------------------------

def test_create_all_fields(img, admin):
    image_id = str(uuid.uuid4())
    name = uniq("full")
    body = {
        "id": image_id, "name": name, "visibility": "private", "protected": False,
        "os_hidden": False, "disk_format": "qcow2", "container_format": "bare",
        "min_disk": 3, "min_ram": 512, "tags": ["t1", "t2"],
        "hw_disk_bus": "scsi", "os_distro": "debian", "empty_prop": "",
    }
    r = img("POST", "/v2/images", body)
    assert r.status_code == 201, r.text
    try:
        got = r.json()
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.headers["Location"].endswith(f"/v2/images/{image_id}")
        assert "glance-direct" in r.headers.get("OpenStack-image-import-methods", "")
        assert STANDARD_KEYS <= set(got), set(got) ^ STANDARD_KEYS
        assert got["id"] == image_id and got["name"] == name
        assert got["status"] == "queued" and got["visibility"] == "private"
        assert got["protected"] is False and got["os_hidden"] is False
        assert got["disk_format"] == "qcow2" and got["container_format"] == "bare"
        assert got["min_disk"] == 3 and got["min_ram"] == 512
        assert sorted(got["tags"]) == ["t1", "t2"]
        assert got["hw_disk_bus"] == "scsi" and got["os_distro"] == "debian"
        assert got["empty_prop"] == ""
        assert got["owner"] == admin.current_project_id
        for key in ("checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size"):
            assert got[key] is None, (key, got[key])
        assert got["self"] == f"/v2/images/{image_id}"
        assert got["file"] == f"/v2/images/{image_id}/file"
        assert got["schema"] == "/v2/schemas/image"
        created = parse_time(got["created_at"])
        now = datetime.datetime.now(datetime.timezone.utc)
        assert abs((now - created).total_seconds()) < 60
        assert got["updated_at"] == got["created_at"]

        shown = img("GET", f"/v2/images/{image_id}")
        assert shown.status_code == 200, shown.text
        s = shown.json()
        s["tags"].sort()
        got["tags"].sort()
        assert s == got
    finally:
        img.delete(image_id)


def test_create_defaults(img):
    r = img("POST", "/v2/images", {})
    assert r.status_code == 201, r.text
    got = r.json()
    try:
        uuid.UUID(got["id"])
        assert got["name"] is None
        assert got["visibility"] == "shared"
        assert got["status"] == "queued"
        assert got["protected"] is False and got["os_hidden"] is False
        assert got["min_disk"] == 0 and got["min_ram"] == 0
        assert got["tags"] == []
        assert got["disk_format"] is None and got["container_format"] is None
    finally:
        img.delete(got["id"])


def test_create_with_sdk(admin):
    name = uniq("sdk")
    data = os.urandom(5000)
    md5 = hashlib.md5(data).hexdigest()
    # openstacksdk creates, uploads with PUT, then checks the checksum the server computed
    image = admin.image.create_image(name, data=data, disk_format="raw", container_format="bare",
                                     visibility="private", tags=["sdk"], allow_duplicates=True,
                                     validate_checksum=True, os_type="linux")
    try:
        got = admin.image.get_image(image.id)
        assert got.name == name and got.status == "active"
        assert got.disk_format == "raw" and got.visibility == "private"
        assert got.tags == ["sdk"]
        assert got.checksum == md5 and got.size == len(data)
        assert got.hash_algo == "sha512"
        assert got.hash_value == hashlib.sha512(data).hexdigest()
        assert got.os_type == "linux"     # a known attribute of the SDK's Image
        assert got.properties["owner_specified.openstack.md5"] == md5
        assert image.id in [x.id for x in admin.image.images(name=name)]
    finally:
        admin.image.delete_image(image.id)
    assert admin.image.find_image(image.id) is None


def test_create_errors(img, cloud):
    # not JSON, not an object
    r = img("POST", "/v2/images", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert img("POST", "/v2/images", []).status_code == 400
    # schema violations
    assert img("POST", "/v2/images", {"disk_format": "bogus"}).status_code == 400
    assert img("POST", "/v2/images", {"container_format": "bogus"}).status_code == 400
    assert img("POST", "/v2/images", {"visibility": "everyone"}).status_code == 400
    assert img("POST", "/v2/images", {"name": "n" * 256}).status_code == 400
    assert img("POST", "/v2/images", {"min_ram": "lots"}).status_code == 400
    assert img("POST", "/v2/images", {"min_disk": -1}).status_code == 400
    assert img("POST", "/v2/images", {"protected": "yes"}).status_code == 400
    assert img("POST", "/v2/images", {"id": "not-a-uuid"}).status_code == 400
    assert img("POST", "/v2/images", {"tags": "t"}).status_code == 400
    assert img("POST", "/v2/images", {"prop": 5}).status_code == 400
    assert img("POST", "/v2/images", {"p" * 256: "x"}).status_code == 400
    # read-only and reserved attributes
    for key, value in (("self", "/x"), ("file", "/x"), ("schema", "/x"), ("direct_url", "x"),
                       ("status", "active"), ("checksum", "0" * 32), ("size", 5),
                       ("virtual_size", 5), ("created_at", "2020-01-01T00:00:00Z")):
        r = img("POST", "/v2/images", {key: value})
        assert r.status_code == 403, (key, r.status_code, r.text)
    for key in ("location", "deleted", "os_glance_foo", "os_glance_import_task"):
        r = img("POST", "/v2/images", {key: "x"})
        assert r.status_code == 403, (key, r.status_code, r.text)
        assert "reserved" in r.text, r.text
    # the same id twice
    image_id = str(uuid.uuid4())
    assert img("POST", "/v2/images", {"id": image_id}).status_code == 201
    try:
        assert img("POST", "/v2/images", {"id": image_id}).status_code == 409
    finally:
        img.delete(image_id)


def test_error_body_is_glance_style(img):
    r = img("GET", f"/v2/images/{uuid.uuid4()}", headers={"Accept": "application/json"})
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == "404 Not Found" and body["title"] == "Not Found", body
    assert "No image found with ID" in body["message"], body


def test_unknown_ids(img):
    for image_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert img("GET", f"/v2/images/{image_id}").status_code == 404
        assert img("DELETE", f"/v2/images/{image_id}").status_code == 404
        assert img.patch(image_id, [{"op": "replace", "path": "/name", "value": "x"}]
                         ).status_code == 404
        assert img.upload(image_id, b"abc").status_code == 404
        assert img("GET", f"/v2/images/{image_id}/file").status_code == 404
        assert img("PUT", f"/v2/images/{image_id}/tags/t").status_code == 404
        assert img("POST", f"/v2/images/{image_id}/actions/deactivate").status_code == 404


def test_member_creates_for_own_project_only(member, admin):
    mi = member["image"]
    own = mi.create()
    try:
        assert own["owner"] == member["project"].id
        r = mi("POST", "/v2/images", {"owner": admin.current_project_id})
        assert r.status_code == 403, r.text
        r = mi("POST", "/v2/images", {"owner": member["project"].id})
        assert r.status_code == 201, r.text
        mi.delete(r.json()["id"])
    finally:
        mi.delete(own["id"])


# --- list: filters, sorting, pagination ----------------------------------------------------------

@pytest.fixture(scope="module")
def listed(img, tmp_path_factory):
    """Six admin images sharing a unique tag:
    a raw/bare private active 100 bytes, tags +x;  b qcow2/bare shared active protected;
    c iso/ovf public queued;  d raw/bare hidden active 10 bytes;  e vhd/bare community queued;
    f raw/bare shared queued."""
    tag = uniq("ltag")
    q = qcow2_file(tmp_path_factory.mktemp("qcow") / "b.qcow2", 16 << 20)
    spec = {
        "a": dict(disk_format="raw", container_format="bare", visibility="private",
                  tags=[tag, "x"]),
        "b": dict(disk_format="qcow2", container_format="bare", visibility="shared",
                  protected=True, tags=[tag]),
        "c": dict(disk_format="iso", container_format="ovf", visibility="public", tags=[tag]),
        "d": dict(disk_format="raw", container_format="bare", os_hidden=True, tags=[tag]),
        "e": dict(disk_format="vhd", container_format="bare", visibility="community",
                  tags=[tag]),
        "f": dict(disk_format="raw", container_format="bare", tags=[tag]),
    }
    data = {"a": b"a" * 100, "b": q, "d": b"d" * 10}
    suffix = uuid.uuid4().hex[:8]
    made = {}
    try:
        for key, attrs in spec.items():
            made[key] = img.create(name=f"{key}-{suffix}", **attrs)
            if key in data:
                r = img.upload(made[key]["id"], data[key])
                assert r.status_code == 204, r.text
                made[key] = img("GET", f"/v2/images/{made[key]['id']}").json()
                assert made[key]["status"] == "active", made[key]
        yield {"tag": tag, "img": made, "id": {k: v["id"] for k, v in made.items()},
               "qcow2_size": len(q)}
    finally:
        for m in made.values():
            img.delete(m["id"])


def test_list_default_and_shape(img, listed):
    r = img("GET", "/v2/images", tag=listed["tag"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["schema"] == "/v2/schemas/images"
    assert body["first"].startswith("/v2/images?") and f"tag={listed['tag']}" in body["first"]
    assert "next" not in body
    i = listed["id"]
    # no hidden image; the admin's own community image is listed
    assert sorted(x["id"] for x in body["images"]) == sorted([i["a"], i["b"], i["c"], i["e"],
                                                             i["f"]])
    a = next(x for x in body["images"] if x["id"] == i["a"])
    shown = img("GET", f"/v2/images/{i['a']}").json()
    a["tags"].sort()
    shown["tags"].sort()
    assert a == shown
    # default order: newest first
    times = [x["created_at"] for x in body["images"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("params,expect", [
    ({"os_hidden": "true"}, "d"),
    ({"os_hidden": "false"}, "abcef"),
    ({"status": "queued"}, "cef"),
    ({"status": "active"}, "ab"),
    ({"visibility": "private"}, "a"),
    ({"visibility": "shared"}, "bf"),
    ({"visibility": "public"}, "c"),
    ({"visibility": "community"}, "e"),
    ({"visibility": "all"}, "abcef"),
    ({"disk_format": "qcow2"}, "b"),
    ({"disk_format": "raw"}, "af"),
    ({"container_format": "ovf"}, "c"),
    ({"size_min": "100"}, "ab"),
    ({"size_min": "101"}, "b"),
    ({"size_min": "100", "size_max": "100"}, "a"),
    ({"size_max": "99"}, ""),
    ({"protected": "true"}, "b"),
    ({"protected": "false"}, "acef"),
    ({"tag": "x"}, "a"),
    ({"disk_format": "in:raw,iso"}, "acf"),
    ({"disk_format": "raw", "visibility": "shared"}, "f"),
])
def test_list_filters(img, listed, params, expect):
    params = dict(params)
    tags = [listed["tag"]] + ([params.pop("tag")] if "tag" in params else [])
    got = ids(img("GET", "/v2/images", tag=tags, **params))
    assert sorted(got) == sorted(listed["id"][k] for k in expect), params


def test_list_filter_name_and_owner(img, listed, admin, member):
    i = listed["id"]
    name = listed["img"]["c"]["name"]
    assert ids(img("GET", "/v2/images", name=name)) == [i["c"]]
    assert ids(img("GET", "/v2/images", name="nobody-" + name)) == []
    assert sorted(ids(img("GET", "/v2/images", tag=listed["tag"],
                          owner=admin.current_project_id))) == sorted(
        i[k] for k in "abcef")
    assert ids(img("GET", "/v2/images", tag=listed["tag"], owner=member["project"].id)) == []
    assert sorted(ids(img("GET", "/v2/images", id=f"in:{i['a']},{i['c']}"))) == sorted(
        [i["a"], i["c"]])


def test_list_filter_created_at(img, listed):
    i = listed["id"]
    first = listed["img"]["a"]["created_at"]
    later = (parse_time(listed["img"]["f"]["created_at"])
             + datetime.timedelta(seconds=5)).strftime(ISO_SECONDS)
    earlier = (parse_time(first) - datetime.timedelta(seconds=5)).strftime(ISO_SECONDS)
    all_ = sorted(i[k] for k in "abcef")
    assert sorted(ids(img("GET", "/v2/images", tag=listed["tag"],
                          created_at=f"gte:{first}"))) == all_
    assert sorted(ids(img("GET", "/v2/images", tag=listed["tag"],
                          created_at=f"gt:{earlier}"))) == all_
    assert ids(img("GET", "/v2/images", tag=listed["tag"], created_at=f"lt:{first}")) == []
    assert ids(img("GET", "/v2/images", tag=listed["tag"], created_at=f"gt:{later}")) == []
    assert sorted(ids(img("GET", "/v2/images", tag=listed["tag"],
                          updated_at=f"lte:{later}"))) == all_
    assert img("GET", "/v2/images", created_at="gte:yesterday").status_code == 400
    assert img("GET", "/v2/images", created_at=f"about:{first}").status_code == 400


def test_list_sorting(img, listed):
    i = listed["id"]
    by_name = [i[k] for k in "abcef"]
    t = listed["tag"]
    assert ids(img("GET", "/v2/images", tag=t, sort_key="name", sort_dir="asc")) == by_name
    assert ids(img("GET", "/v2/images", tag=t, sort_key="name", sort_dir="desc")) == \
        by_name[::-1]
    assert ids(img("GET", "/v2/images", tag=t, sort="name:asc,created_at:desc")) == by_name
    assert ids(img("GET", "/v2/images", tag=t, sort="name:desc")) == by_name[::-1]
    # two keys: disk_format ascending, then name descending within raw (f before a)
    expect = [i["c"], i["b"], i["f"], i["a"], i["e"]]
    assert ids(img("GET", "/v2/images", tag=t, sort="disk_format:asc,name:desc")) == expect
    assert ids(img("GET", "/v2/images", tag=t, sort_key=["disk_format", "name"],
                   sort_dir=["asc", "desc"])) == expect
    # one direction applies to every key
    assert ids(img("GET", "/v2/images", tag=t, sort_key=["disk_format", "name"],
                   sort_dir="desc")) == [i["e"], i["f"], i["a"], i["b"], i["c"]]
    # sizes: nulls (queued) sort as the smallest in ascending order (like Glance on SQL)
    got = ids(img("GET", "/v2/images", tag=t, sort="size:desc,name:asc"))
    assert got[:2] == [i["b"], i["a"]] and sorted(got[2:]) == sorted([i["c"], i["e"], i["f"]])


def test_list_pagination(img, listed):
    i = listed["id"]
    t = listed["tag"]
    r = img("GET", "/v2/images", tag=t, sort="name:asc", limit=2)
    seen, pages = [], 0
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        seen += [x["id"] for x in body["images"]]
        assert len(body["images"]) <= 2
        if "next" not in body:
            break
        nxt = body["next"]
        assert nxt.startswith("/v2/images?"), nxt
        assert "marker=" + body["images"][-1]["id"] in nxt and "limit=2" in nxt, nxt
        assert "marker" not in body["first"]
        assert pages < 10
        r = img("GET", urlsplit(nxt).path, **parse_qs(urlsplit(nxt).query))
    assert seen == [i[k] for k in "abcef"]
    assert pages == 3
    # a marker starts after that image; an unknown marker is an error
    assert ids(img("GET", "/v2/images", tag=t, sort="name:asc", marker=i["c"])) == [i["e"],
                                                                                   i["f"]]
    assert img("GET", "/v2/images", marker=str(uuid.uuid4())).status_code == 400
    assert ids(img("GET", "/v2/images", tag=t, limit=0)) == []


def test_list_pagination_sdk(admin, listed):
    # openstacksdk follows `next` itself
    got = [x.id for x in admin.image.images(tag=listed["tag"], sort="name:asc", limit=2)]
    assert got == [listed["id"][k] for k in "abcef"]


def test_list_bad_parameters(img):
    wrong = []
    for params in ({"os_hidden": "maybe"}, {"protected": "yes"}, {"visibility": "everyone"},
                   {"sort_key": "colour"}, {"sort_dir": "up"}, {"sort": "name:up"},
                   {"sort": "name", "sort_key": "name"}, {"limit": "-1"}, {"limit": "ten"},
                   {"size_min": "big"}, {"member_status": "maybe"},
                   {"sort_key": ["name", "size", "id"], "sort_dir": ["asc", "desc"]},
                   {"changes-since": "2020-01-01T00:00:00Z"}, {"status": "foo:bar"},
                   {"name": "like:x"}, {"id": "neq:x"}):
        r = img("GET", "/v2/images", **params)
        if r.status_code != 400:
            wrong.append((params, r.status_code, r.text[:200]))
    assert wrong == []


def test_list_limit_capped(img):
    r = img("GET", "/v2/images", limit=100000)
    assert r.status_code == 200, r.text


def test_member_list_visibility(member, listed):
    mi = member["image"]
    t = listed["tag"]
    i = listed["id"]
    # another project's private and shared images are invisible; public is listed;
    # community only on request
    assert ids(mi("GET", "/v2/images", tag=t)) == [i["c"]]
    assert ids(mi("GET", "/v2/images", tag=t, visibility="community")) == [i["e"]]
    assert sorted(ids(mi("GET", "/v2/images", tag=t, visibility="all"))) == sorted(
        [i["c"], i["e"]])
    assert ids(mi("GET", "/v2/images", tag=t, visibility="private")) == []
    assert ids(mi("GET", "/v2/images", tag=t, member_status="all")) == [i["c"]]
    assert mi("GET", f"/v2/images/{i['a']}").status_code == 404
    assert mi("GET", f"/v2/images/{i['b']}").status_code == 404
    assert mi("GET", f"/v2/images/{i['f']}").status_code == 404
    assert mi("GET", f"/v2/images/{i['c']}").status_code == 200
    assert mi("GET", f"/v2/images/{i['e']}").status_code == 200
    # and they may not change or delete what they can see
    r = mi.patch(i["c"], [{"op": "replace", "path": "/name", "value": "mine"}])
    assert r.status_code == 403, r.text
    assert mi("DELETE", f"/v2/images/{i['e']}").status_code == 403
    assert mi("DELETE", f"/v2/images/{i['a']}").status_code == 404
    assert mi("PUT", f"/v2/images/{i['c']}/tags/mine").status_code == 403
    assert mi("GET", f"/v2/images/{i['c']}").json()["name"] == listed["img"]["c"]["name"]


# --- update by JSON patch -----------------------------------------------------------------------

@pytest.fixture
def fresh(img):
    image = img.create(disk_format="raw", container_format="bare", visibility="private",
                       extra="one")
    yield image
    img.delete(image["id"])


def test_patch_add_replace_remove(img, fresh):
    iid = fresh["id"]
    r = img.patch(iid, [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/color", "value": "blue"},
        {"op": "replace", "path": "/extra", "value": "two"},
        {"op": "add", "path": "/min_ram", "value": 1024},
        {"op": "replace", "path": "/min_disk", "value": 7},
        {"op": "replace", "path": "/disk_format", "value": "qcow2"},
        {"op": "replace", "path": "/tags", "value": ["p", "q"]},
        {"op": "replace", "path": "/os_hidden", "value": True},
    ])
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    got = r.json()
    assert got["name"] == "renamed" and got["color"] == "blue" and got["extra"] == "two"
    assert got["min_ram"] == 1024 and got["min_disk"] == 7 and got["disk_format"] == "qcow2"
    assert sorted(got["tags"]) == ["p", "q"] and got["os_hidden"] is True
    assert parse_time(got["updated_at"]) >= parse_time(got["created_at"])
    shown = img("GET", f"/v2/images/{iid}").json()
    assert shown["name"] == "renamed" and shown["color"] == "blue" and shown["os_hidden"] is True

    # add on an existing property replaces it (draft 10); remove drops it
    r = img.patch(iid, [{"op": "add", "path": "/color", "value": "red"},
                        {"op": "remove", "path": "/extra"}])
    assert r.status_code == 200, r.text
    assert r.json()["color"] == "red" and "extra" not in r.json()
    assert "extra" not in img("GET", f"/v2/images/{iid}").json()
    # name may be set to null
    r = img.patch(iid, [{"op": "replace", "path": "/name", "value": None}])
    assert r.status_code == 200 and r.json()["name"] is None, r.text
    # an empty patch changes nothing
    before = img("GET", f"/v2/images/{iid}").json()
    r = img.patch(iid, [])
    assert r.status_code == 200 and r.json() == before, r.text


def test_patch_is_atomic(img, fresh):
    iid = fresh["id"]
    r = img.patch(iid, [{"op": "replace", "path": "/name", "value": "half"},
                        {"op": "replace", "path": "/missing", "value": "x"}])
    assert r.status_code == 409, r.text
    assert img("GET", f"/v2/images/{iid}").json()["name"] == fresh["name"]


def test_patch_sdk_and_cli(admin, cloud, img, fresh):
    iid = fresh["id"]
    admin.image.update_image(iid, name="via-sdk", os_version="12")
    got = admin.image.get_image(iid)
    assert got.name == "via-sdk"
    cloud.cli("image", "set", "--property", "k=v", "--property", "os_version=13",
              "--min-ram", "256", iid, check=True)
    shown = cloud.cli_json("image", "show", iid)
    props = shown["properties"]
    assert props["k"] == "v" and props["os_version"] == "13", shown
    assert shown["min_ram"] == 256
    cloud.cli("image", "unset", "--property", "k", iid, check=True)
    shown = img("GET", f"/v2/images/{iid}").json()
    assert "k" not in shown and shown["os_version"] == "13" and shown["name"] == "via-sdk"


def test_patch_read_only_and_reserved(img, fresh):
    iid = fresh["id"]
    for key in READ_ONLY:
        for op in ("replace", "add"):
            r = img.patch(iid, [{"op": op, "path": f"/{key}", "value": "x"}])
            assert r.status_code == 403, (op, key, r.status_code, r.text)
        r = img.patch(iid, [{"op": "remove", "path": f"/{key}"}])
        assert r.status_code == 403, ("remove", key, r.status_code, r.text)
    for key in ("location", "deleted", "deleted_at", "os_glance_foo", "os_glance_import_task"):
        for op in ("replace", "add"):
            r = img.patch(iid, [{"op": op, "path": f"/{key}", "value": "x"}])
            assert r.status_code == 403, (op, key, r.status_code, r.text)
            assert "reserved" in r.text, r.text
        r = img.patch(iid, [{"op": "remove", "path": f"/{key}"}])
        assert r.status_code == 403, ("remove", key, r.status_code, r.text)
    # base properties may not be removed
    for key in ("name", "disk_format", "min_ram", "visibility", "tags", "protected"):
        r = img.patch(iid, [{"op": "remove", "path": f"/{key}"}])
        assert r.status_code == 403, (key, r.status_code, r.text)
    assert img("GET", f"/v2/images/{iid}").json()["status"] == "queued"


def test_patch_conflicts_and_bad_values(img, fresh):
    iid = fresh["id"]
    assert img.patch(iid, [{"op": "replace", "path": "/nope", "value": "x"}]).status_code == 409
    assert img.patch(iid, [{"op": "remove", "path": "/nope"}]).status_code == 409
    for path, value in (("/visibility", "everyone"), ("/min_ram", "lots"), ("/min_disk", -1),
                        ("/name", "n" * 256), ("/disk_format", "bogus"),
                        ("/container_format", "bogus"), ("/protected", "yes"),
                        ("/os_hidden", 1), ("/tags", "t"), ("/tags", ["t" * 256]),
                        ("/free", 5), ("/free", None)):
        r = img.patch(iid, [{"op": "replace" if path != "/free" else "add",
                             "path": path, "value": value}])
        assert r.status_code == 400, (path, value, r.status_code, r.text)


def test_patch_bad_documents(img, fresh):
    iid = fresh["id"]
    # the media type is required
    r = img.patch(iid, [{"op": "replace", "path": "/name", "value": "x"}],
                  content_type="application/json")
    assert r.status_code == 415, r.text
    accept_patch = r.headers.get("Accept-Patch", "")
    bad = [
        {"op": "replace", "path": "/name", "value": "x"},   # body not a list
        [["replace", "/name", "x"]],                          # operation not an object
        [{"op": "move", "path": "/name", "value": "x"}],       # unknown op
        [{"path": "/name", "value": "x"}],                     # no op
        [{"op": "replace", "value": "x"}],                     # no path
        [{"op": "replace", "path": "/name"}],                  # no value
        [{"op": "add", "path": "/foo"}],
        [{"op": "replace", "path": "name", "value": "x"}],     # not a pointer
        [{"op": "replace", "path": "/name/first", "value": "x"}],  # too deep
        [{"op": "replace", "path": "/a//b", "value": "x"}],
        [{"op": "replace", "path": "/name/", "value": "x"}],
        [{"op": "replace", "path": "/na~2me", "value": "x"}],
        [{"op": "remove", "path": "/tags/0"}],
    ]
    wrong = []
    for doc in bad:
        r = img.patch(iid, doc)
        if r.status_code != 400:
            wrong.append((doc, r.status_code, r.text[:200]))
    assert wrong == []
    assert accept_patch == ("application/openstack-images-v2.0-json-patch, "
                            "application/openstack-images-v2.1-json-patch")
    r = img("PATCH", f"/v2/images/{iid}", data="[{not json",
            headers={"Content-Type": ImageApi.PATCH_TYPE})
    assert r.status_code == 400, r.text
    # escapes in pointers: ~1 is "/", ~0 is "~"
    r = img.patch(iid, [{"op": "add", "path": "/a~1b~0c", "value": "x"}])
    assert r.status_code == 200, r.text
    assert r.json()["a/b~c"] == "x"
    assert img("GET", f"/v2/images/{iid}").json()["name"] == fresh["name"]


def test_patch_draft4(img, fresh):
    r = img.patch(fresh["id"], [{"replace": "/name", "value": "d4"},
                                {"add": "/d4prop", "value": "v"}],
                  content_type="application/openstack-images-v2.0-json-patch")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "d4" and r.json()["d4prop"] == "v"
    # draft 4: add of an existing property is a conflict
    r = img.patch(fresh["id"], [{"add": "/d4prop", "value": "w"}],
                  content_type="application/openstack-images-v2.0-json-patch")
    assert r.status_code == 409, r.text


def test_patch_owner(img, fresh, member):
    iid = fresh["id"]
    r = img.patch(iid, [{"op": "replace", "path": "/owner", "value": member["project"].id}])
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == member["project"].id
    mi = member["image"]
    assert mi("GET", f"/v2/images/{iid}").status_code == 200
    r = mi.patch(iid, [{"op": "replace", "path": "/owner", "value": str(uuid.uuid4().hex)}])
    assert r.status_code == 403, r.text
    # the member owns it now: it may rename it
    r = mi.patch(iid, [{"op": "replace", "path": "/name", "value": "owned"}])
    assert r.status_code == 200, r.text


# --- visibility -----------------------------------------------------------------------------------

def test_visibility_rules(img, member):
    mi = member["image"]
    r = mi("POST", "/v2/images", {"visibility": "public"})
    assert r.status_code == 403, r.text
    community = mi.create(visibility="community")
    private = mi.create(visibility="private")
    try:
        assert community["visibility"] == "community"
        r = mi.patch(private["id"], [{"op": "replace", "path": "/visibility", "value": "public"}])
        assert r.status_code == 403, r.text
        for v in ("shared", "community", "private"):
            r = mi.patch(private["id"], [{"op": "replace", "path": "/visibility", "value": v}])
            assert r.status_code == 200 and r.json()["visibility"] == v, r.text
        # the admin may publicize anyone's image, and create public images
        r = img.patch(private["id"], [{"op": "replace", "path": "/visibility",
                                       "value": "public"}])
        assert r.status_code == 200 and r.json()["visibility"] == "public", r.text
        pub = img.create(visibility="public")
        img.delete(pub["id"])
        # the owner may make its public image private again
        r = mi.patch(private["id"], [{"op": "replace", "path": "/visibility",
                                      "value": "private"}])
        assert r.status_code == 200, r.text
    finally:
        mi.delete(community["id"])
        mi.delete(private["id"])


def test_cli_visibility(cloud, member):
    name = uniq("clivis")
    cp = cloud.cli(*member["cli_args"], "image", "create", "--public", name)
    assert cp.returncode != 0
    assert "403" in cp.stderr or "Forbidden" in cp.stderr or "not authorized" in cp.stderr.lower()
    got = cloud.cli_json(*member["cli_args"], "image", "create", "--community", name)
    try:
        assert got["visibility"] == "community"
    finally:
        cloud.cli(*member["cli_args"], "image", "delete", got["id"], check=True)


# --- delete, protection, deactivate ----------------------------------------------------------------

def test_delete(img):
    image = img.create()
    r = img("DELETE", f"/v2/images/{image['id']}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert img("GET", f"/v2/images/{image['id']}").status_code == 404
    assert img("DELETE", f"/v2/images/{image['id']}").status_code == 404


def test_protected_delete(img):
    image = img.create(protected=True)
    r = img("DELETE", f"/v2/images/{image['id']}")
    assert r.status_code == 403, r.text
    assert img("GET", f"/v2/images/{image['id']}").status_code == 200
    r = img.patch(image["id"], [{"op": "replace", "path": "/protected", "value": False}])
    assert r.status_code == 200 and r.json()["protected"] is False, r.text
    assert img("DELETE", f"/v2/images/{image['id']}").status_code == 204


def test_deactivate_reactivate(img, member):
    mi = member["image"]
    image = mi.create(disk_format="raw", container_format="bare")
    iid = image["id"]
    try:
        # only active images
        assert mi("POST", f"/v2/images/{iid}/actions/deactivate").status_code == 403
        assert mi("POST", f"/v2/images/{iid}/actions/reactivate").status_code == 403
        assert mi.upload(iid, b"payload").status_code == 204
        r = mi("POST", f"/v2/images/{iid}/actions/deactivate")
        assert r.status_code == 204, r.text
        assert mi("GET", f"/v2/images/{iid}").json()["status"] == "deactivated"
        # twice is fine
        assert mi("POST", f"/v2/images/{iid}/actions/deactivate").status_code == 204
        # the owner may not download it any more; the admin may
        assert mi("GET", f"/v2/images/{iid}/file").status_code == 403
        r = img("GET", f"/v2/images/{iid}/file")
        assert r.status_code == 200 and r.content == b"payload", r.text
        r = mi("POST", f"/v2/images/{iid}/actions/reactivate")
        assert r.status_code == 204, r.text
        assert mi("GET", f"/v2/images/{iid}").json()["status"] == "active"
        assert mi("POST", f"/v2/images/{iid}/actions/reactivate").status_code == 204
        assert mi("GET", f"/v2/images/{iid}/file").content == b"payload"
        # another project may not
        other = img.create(visibility="public", disk_format="raw", container_format="bare")
        try:
            assert img.upload(other["id"], b"x").status_code == 204
            r = mi("POST", f"/v2/images/{other['id']}/actions/deactivate")
            assert r.status_code == 403, r.text
        finally:
            img.delete(other["id"])
    finally:
        mi.delete(iid)


def test_sdk_deactivate(admin, img):
    image = img.create(disk_format="raw", container_format="bare")
    try:
        assert img.upload(image["id"], b"abc").status_code == 204
        admin.image.deactivate_image(image["id"])
        assert admin.image.get_image(image["id"]).status == "deactivated"
        admin.image.reactivate_image(image["id"])
        assert admin.image.get_image(image["id"]).status == "active"
    finally:
        img.delete(image["id"])


# --- tags -----------------------------------------------------------------------------------------

def test_tags(img, admin):
    image = img.create(tags=["one"])
    iid = image["id"]
    try:
        r = img("PUT", f"/v2/images/{iid}/tags/two")
        assert r.status_code == 204, r.text
        assert img("PUT", f"/v2/images/{iid}/tags/two").status_code == 204
        assert sorted(img("GET", f"/v2/images/{iid}").json()["tags"]) == ["one", "two"]
        assert iid in ids(img("GET", "/v2/images", tag="two"))
        r = img("DELETE", f"/v2/images/{iid}/tags/one")
        assert r.status_code == 204, r.text
        assert img("DELETE", f"/v2/images/{iid}/tags/one").status_code == 404
        assert img("GET", f"/v2/images/{iid}").json()["tags"] == ["two"]
        assert iid not in ids(img("GET", "/v2/images", tag="one"))
        admin.image.add_tag(iid, "three")
        admin.image.remove_tag(iid, "two")
        assert admin.image.get_image(iid).tags == ["three"]
        assert img("PUT", f"/v2/images/{iid}/tags/" + "t" * 256).status_code == 400
    finally:
        img.delete(iid)


# --- the openstack CLI ----------------------------------------------------------------------------

def test_cli_image_lifecycle(cloud, tmp_path):
    src = tmp_path / "x.qcow2"
    data = qcow2_file(src, 32 << 20)
    name = uniq("cli")
    created = cloud.cli_json("image", "create", "--disk-format", "qcow2", "--file", src, name)
    iid = created["id"]
    try:
        # (the CLI prints the image as created, before the upload)
        assert created["name"] == name
        shown = cloud.cli_json("image", "show", iid)
        assert shown["status"] == "active", shown
        assert shown["disk_format"] == "qcow2" and shown["container_format"] == "bare"
        assert shown["checksum"] == hashlib.md5(data).hexdigest()
        assert shown["size"] == len(data)

        listed = cloud.cli_json("image", "list")
        row = next(x for x in listed if x["ID"] == iid)
        assert row["Name"] == name and row["Status"] == "active"
        assert iid in [x["ID"] for x in cloud.cli_json("image", "list", "--name", name)]

        shown = cloud.cli_json("image", "show", name)
        assert shown["id"] == iid and shown["virtual_size"] == 32 << 20

        cloud.cli("image", "set", "--property", "k=v", name, check=True)
        assert cloud.cli_json("image", "show", iid)["properties"]["k"] == "v"

        out = tmp_path / "out"
        cloud.cli("image", "save", "--file", out, name, check=True)
        assert out.read_bytes() == data

        cloud.cli("image", "delete", name, check=True)
        cp = cloud.cli("image", "show", iid)
        assert cp.returncode != 0
        assert iid not in [x["ID"] for x in cloud.cli_json("image", "list")]
    finally:
        cloud.cli("image", "delete", iid)
