"""Image data (Glance v2): upload (sized and chunked) and download with md5 / sha512 checked,
Content-MD5 and Range, status transitions and conflicts, a 2 GiB sparse image round trip while
the server's memory stays flat, an interrupted upload that leaves nothing behind, staging and
glance-direct import, the info endpoints, and the quotas (on a second server configured for
them)."""

import hashlib
import os
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import ImageApi, project_user, qcow2_file, scratch_db, start_cloud, stop_cloud

# md5 and sha512 of 2 GiB of zero bytes (what `truncate -s 2G` makes)
ZERO_2G_MD5 = "a981130cf2b7e09f4686dc273cf7187e"
ZERO_2G_SHA512 = ("0414cac598ebfa08e8e9c6d2544aa414385b9985c5d67d7a8746aa64324c715fa96ff63351016d"
                  "30dd2b89276252c121c71619f15496b5ca95785d0b25fe4dfd")
RSS_GROWTH_MAX_KIB = 64 * 1024


@pytest.fixture(scope="module")
def img(cloud, admin):
    return ImageApi(cloud, admin.auth_token)


@pytest.fixture
def queued(img):
    """A new raw/bare image (queued), deleted afterwards."""
    image = img.create(disk_format="raw", container_format="bare")
    yield image
    img.delete(image["id"])


def show(img, image_id):
    r = img("GET", f"/v2/images/{image_id}")
    assert r.status_code == 200, r.text
    return r.json()


def files_under(d):
    """Every file below directory d (relative paths), or an empty set when d does not exist."""
    d = Path(d)
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()} if d.exists() else set()


def wait_status(img, image_id, want, timeout=30):
    """Polls the image until its status is in want; returns the image."""
    deadline = time.monotonic() + timeout
    while True:
        image = show(img, image_id)
        if image["status"] in want:
            return image
        assert time.monotonic() < deadline, f"status still {image['status']} after {timeout} s"
        time.sleep(0.1)


def check_hashes(image, data):
    assert image["status"] == "active", image
    assert image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()


# --- upload and download ----------------------------------------------------------------------

def test_round_trip_sized(img, queued):
    data = os.urandom((1 << 20) + 12345)
    iid = queued["id"]
    r = img.upload(iid, data)
    assert r.status_code == 204, r.text
    assert r.content == b""
    image = show(img, iid)
    check_hashes(image, data)
    assert image["virtual_size"] == len(data)     # raw: the size
    r = img("GET", f"/v2/images/{iid}/file")
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    assert int(r.headers["Content-Length"]) == len(data)


def test_round_trip_chunked(img, queued):
    parts = [os.urandom(n) for n in (1, 65536, 3 << 20, 777, 0, 99)]
    data = b"".join(parts)
    iid = queued["id"]
    r = img.upload(iid, (p for p in parts if p))     # a generator: Transfer-Encoding chunked
    assert r.status_code == 204, r.text
    check_hashes(show(img, iid), data)
    got = hashlib.md5()
    n = 0
    with img("GET", f"/v2/images/{iid}/file", stream=True) as r:
        assert r.status_code == 200
        for chunk in r.iter_content(1 << 16):
            got.update(chunk)
            n += len(chunk)
    assert n == len(data) and got.hexdigest() == hashlib.md5(data).hexdigest()


def test_empty_image(img, queued):
    r = img.upload(queued["id"], b"")
    assert r.status_code == 204, r.text
    image = show(img, queued["id"])
    check_hashes(image, b"")
    r = img("GET", f"/v2/images/{queued['id']}/file")
    assert r.status_code == 200 and r.content == b"", r.text


def test_qcow2_virtual_size(img, tmp_path):
    data = qcow2_file(tmp_path / "v.qcow2", 5 << 30)
    image = img.create(disk_format="qcow2", container_format="bare")
    try:
        assert img.upload(image["id"], data).status_code == 204
        got = show(img, image["id"])
        check_hashes(got, data)
        assert got["virtual_size"] == 5 << 30
    finally:
        img.delete(image["id"])


def test_download_range(img, queued):
    data = bytes(range(256)) * 40
    n = len(data)
    iid = queued["id"]
    assert img.upload(iid, data).status_code == 204
    for rng, start, end in (("bytes=0-4", 0, 4), ("bytes=100-", 100, n - 1),
                            ("bytes=-3", n - 3, n - 1), (f"bytes=5-{n + 50}", 5, n - 1),
                            (f"bytes={n - 1}-{n - 1}", n - 1, n - 1)):
        r = img("GET", f"/v2/images/{iid}/file", headers={"Range": rng})
        assert r.status_code == 206, (rng, r.status_code, r.text)
        assert r.content == data[start:end + 1], rng
        assert r.headers["Content-Range"] == f"bytes {start}-{end}/{n}", rng
        assert int(r.headers["Content-Length"]) == end - start + 1, rng
    r = img("GET", f"/v2/images/{iid}/file", headers={"Range": f"bytes={n}-"})
    assert r.status_code == 416, r.text
    r = img("GET", f"/v2/images/{iid}/file", headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 400, r.text
    r = img("GET", f"/v2/images/{iid}/file", headers={"Range": "pages=1-2"})
    assert r.status_code == 416, r.text


def test_upload_conflicts_and_errors(img, queued, cloud):
    iid = queued["id"]
    # only application/octet-stream
    r = img("PUT", f"/v2/images/{iid}/file", data=b"x",
            headers={"Content-Type": "application/json"})
    assert r.status_code == 415, r.text
    assert show(img, iid)["status"] == "queued"
    # nothing to download yet
    r = img("GET", f"/v2/images/{iid}/file")
    assert r.status_code == 204, r.text
    assert img.upload(iid, b"first").status_code == 204
    r = img.upload(iid, b"second")
    assert r.status_code == 409, r.text
    assert img("GET", f"/v2/images/{iid}/file").content == b"first"
    # staging is for queued images only
    r = img("PUT", f"/v2/images/{iid}/stage", data=b"x",
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 409, r.text
    # no token
    import requests

    r = requests.put(f"{cloud.url}/image/v2/images/{iid}/file", data=b"x",
                     headers={"Content-Type": "application/octet-stream"}, timeout=10)
    assert r.status_code == 401, r.text


def test_upload_needs_formats(img):
    image = img.create()
    try:
        r = img.upload(image["id"], b"data")
        assert r.status_code == 400, r.text
        assert show(img, image["id"])["status"] == "queued"
        r = img.patch(image["id"], [{"op": "add", "path": "/disk_format", "value": "raw"},
                                    {"op": "add", "path": "/container_format", "value": "bare"}])
        assert r.status_code == 200, r.text
        assert img.upload(image["id"], b"data").status_code == 204
        # formats are fixed once there is data
        r = img.patch(image["id"], [{"op": "replace", "path": "/disk_format", "value": "qcow2"}])
        assert r.status_code == 403, r.text
    finally:
        img.delete(image["id"])


def test_upload_by_other_project(img, cloud, admin):
    other = project_user(cloud, admin)
    try:
        mine = img.create(visibility="public", disk_format="raw", container_format="bare")
        try:
            r = other["image"].upload(mine["id"], b"data")
            assert r.status_code == 403, r.text
            assert show(img, mine["id"])["status"] == "queued"
            private = img.create(visibility="private", disk_format="raw",
                                 container_format="bare")
            r = other["image"].upload(private["id"], b"data")
            assert r.status_code == 404, r.text
            img.delete(private["id"])
        finally:
            img.delete(mine["id"])
    finally:
        other["cleanup"]()


def test_delete_removes_data(img, cloud):
    store = cloud.data_dir / "images"
    before = files_under(store)
    image = img.create(disk_format="raw", container_format="bare")
    assert img.upload(image["id"], os.urandom(4096)).status_code == 204
    assert len(files_under(store) - before) == 1
    assert img("DELETE", f"/v2/images/{image['id']}").status_code == 204
    assert files_under(store) == before


# --- big data, constant memory -------------------------------------------------------------------

class RssWatch:
    """Samples the server's VmRSS every 20 ms in a thread; .peak is the largest seen (KiB)."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.base = cloud.rss_kib()
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.cloud.rss_kib())
            time.sleep(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.cloud.rss_kib())

    @property
    def growth(self):
        return self.peak - self.base


def test_2g_sparse_round_trip_flat_memory(img, cloud, admin, tmp_path):
    src = tmp_path / "big.raw"
    subprocess.run(["truncate", "-s", "2G", str(src)], check=True)
    assert src.stat().st_size == 2 << 30
    image = img.create(disk_format="raw", container_format="bare", name="big")
    iid = image["id"]
    url = f"{cloud.url}/image/v2/images/{iid}/file"
    token = admin.auth_token
    try:
        with RssWatch(cloud) as up:
            cp = subprocess.run(
                ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", str(src),
                 "-H", f"X-Auth-Token: {token}", "-H", "Content-Type: application/octet-stream",
                 url], capture_output=True, text=True, timeout=600)
        assert cp.stdout == "204", (cp.stdout, cp.stderr)
        assert up.growth < RSS_GROWTH_MAX_KIB, \
            f"server RSS grew {up.growth} KiB during a 2 GiB upload (from {up.base} KiB)"
        got = show(img, iid)
        assert got["status"] == "active" and got["size"] == 2 << 30
        assert got["virtual_size"] == 2 << 30
        assert got["checksum"] == ZERO_2G_MD5
        assert got["os_hash_algo"] == "sha512" and got["os_hash_value"] == ZERO_2G_SHA512

        # download through two hashing processes in parallel (md5sum, sha512sum)
        hdr = tmp_path / "headers"
        script = ('set -o pipefail; curl -sS -f -D "$HDR" -H "X-Auth-Token: $TOKEN" "$URL" '
                  '| tee >(md5sum > "$OUT.md5.tmp" && mv "$OUT.md5.tmp" "$OUT.md5") '
                  '| sha512sum > "$OUT.sha512"')
        env = dict(os.environ, HDR=str(hdr), TOKEN=token, URL=url, OUT=str(tmp_path / "sum"))
        with RssWatch(cloud) as down:
            cp = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                                timeout=600)
        assert cp.returncode == 0, cp.stderr
        deadline = time.monotonic() + 30   # md5sum (a process substitution) may end later
        while not (tmp_path / "sum.md5").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        md5 = (tmp_path / "sum.md5").read_text().split()[0]
        sha = (tmp_path / "sum.sha512").read_text().split()[0]
        assert md5 == ZERO_2G_MD5 and sha == ZERO_2G_SHA512
        headers = hdr.read_text().lower()
        assert f"content-length: {2 << 30}" in headers
        assert f"content-md5: {ZERO_2G_MD5}" in headers
        assert down.growth < RSS_GROWTH_MAX_KIB, \
            f"server RSS grew {down.growth} KiB during a 2 GiB download (from {down.base} KiB)"
    finally:
        img.delete(iid)
    assert not any(iid in f for f in files_under(cloud.data_dir / "images"))


# --- interrupted upload ------------------------------------------------------------------------

def test_interrupted_upload_leaves_nothing(img, cloud, admin, queued):
    store = cloud.data_dir / "images"
    staging = cloud.data_dir / "image-staging"
    before, staged_before = files_under(store), files_under(staging)
    iid = queued["id"]
    head = (f"PUT /image/v2/images/{iid}/file HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{cloud.port}\r\n"
            f"X-Auth-Token: {admin.auth_token}\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {10 << 20}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", cloud.port), timeout=10) as s:
        s.sendall(head)
        s.sendall(os.urandom(1 << 20))
        time.sleep(0.3)   # let the server start storing
    image = wait_status(img, iid, ("queued", "killed"), timeout=15)
    assert image["status"] in ("queued", "killed")
    assert image["size"] is None and image["checksum"] is None, image
    deadline = time.monotonic() + 10
    while files_under(store) != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert files_under(store) == before, "partial data left in the store"
    assert files_under(staging) == staged_before
    if image["status"] == "queued":
        # the image is still usable
        data = os.urandom(1000)
        assert img.upload(iid, data).status_code == 204
        check_hashes(show(img, iid), data)
    assert cloud.alive()


def test_short_body_is_not_an_image(img, cloud, admin, queued):
    """A client that sends less than its Content-Length and then half-closes."""
    iid = queued["id"]
    head = (f"PUT /image/v2/images/{iid}/file HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{cloud.port}\r\nX-Auth-Token: {admin.auth_token}\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: 5000\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", cloud.port), timeout=10) as s:
        s.sendall(head + b"x" * 100)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
    image = wait_status(img, iid, ("queued", "killed"), timeout=15)
    assert image["size"] is None


# --- staging and interoperable import ------------------------------------------------------------

def test_info_import_and_stores(img):
    r = img("GET", "/v2/info/import")
    assert r.status_code == 200, r.text
    methods = r.json()["import-methods"]
    assert methods["type"] == "array"
    assert "glance-direct" in methods["value"], methods
    r = img("GET", "/v2/info/stores")
    assert r.status_code == 200, r.text
    stores = r.json()["stores"]
    assert [s["id"] for s in stores if s.get("default")] == ["file"], stores


def test_stage_and_glance_direct_import(img, cloud, queued):
    iid = queued["id"]
    data = os.urandom(3 << 20)
    staging = cloud.data_dir / "image-staging"
    # importing before staging is a conflict
    r = img("POST", f"/v2/images/{iid}/import", {"method": {"name": "glance-direct"}})
    assert r.status_code == 409, r.text
    r = img("PUT", f"/v2/images/{iid}/stage", data=data,
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    staged = show(img, iid)
    assert staged["status"] == "uploading", staged
    assert staged["size"] is None or staged["size"] == len(data)
    # staged data is not downloadable, and cannot be uploaded over
    assert img("GET", f"/v2/images/{iid}/file").status_code in (204, 404)
    assert img.upload(iid, b"x").status_code == 409
    # bad import requests
    for body in ({}, {"method": {}}, {"method": {"name": "carrier-pigeon"}},
                 {"method": {"name": "glance-direct"}, "all_stores": "yes"}):
        r = img("POST", f"/v2/images/{iid}/import", body)
        assert r.status_code == 400, (body, r.status_code, r.text)
    r = img("POST", f"/v2/images/{iid}/import", {"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    image = wait_status(img, iid, ("active", "killed", "queued"), timeout=60)
    check_hashes(image, data)
    r = img("GET", f"/v2/images/{iid}/file")
    assert r.status_code == 200 and r.content == data
    assert not any(iid in f for f in files_under(staging)), "staged data left behind"


def test_cli_import(cloud, img, tmp_path):
    data = os.urandom(200000)
    src = tmp_path / "imp.raw"
    src.write_bytes(data)
    name = f"imp-{uuid.uuid4().hex[:8]}"
    got = cloud.cli_json("image", "create", "--import", "--disk-format", "raw",
                         "--container-format", "bare", "--file", src, name)
    iid = got["id"]
    try:
        image = wait_status(img, iid, ("active", "killed"), timeout=60)
        check_hashes(image, data)
    finally:
        img.delete(iid)


def test_stage_unknown_image(img):
    r = img("PUT", f"/v2/images/{uuid.uuid4()}/stage", data=b"x",
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 404, r.text
    r = img("POST", f"/v2/images/{uuid.uuid4()}/import", {"method": {"name": "glance-direct"}})
    assert r.status_code == 404, r.text


def test_deleting_staged_image_clears_staging(img, cloud):
    image = img.create(disk_format="raw", container_format="bare")
    r = img("PUT", f"/v2/images/{image['id']}/stage", data=os.urandom(5000),
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    assert img("DELETE", f"/v2/images/{image['id']}").status_code == 204
    assert not any(image["id"] in f for f in files_under(cloud.data_dir / "image-staging"))


# --- quotas (a second server with small limits) ------------------------------------------------

SIZE_CAP = 300000
STORAGE_QUOTA = 500000
COUNT_QUOTA = 3


@pytest.fixture(scope="module")
def quota_cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("quota"), {"image": {
        "image_size_cap": SIZE_CAP, "user_storage_quota": STORAGE_QUOTA,
        "image_count_quota": COUNT_QUOTA, "image_property_quota": 3, "image_tag_quota": 2,
        "image_member_quota": 1,
    }}, db=scratch_db())
    try:
        yield c
    finally:
        stop_cloud(c)


@pytest.fixture
def quser(quota_cloud):
    u = project_user(quota_cloud, quota_cloud.conn())
    yield u
    u["cleanup"]()


def test_quota_image_size_cap(quser, quota_cloud):
    api = quser["image"]
    store = quota_cloud.data_dir / "images"
    before = files_under(store)
    image = api.create(disk_format="raw", container_format="bare")
    iid = image["id"]
    # sized: refused from the header; chunked: refused once it goes past the cap
    r = api.upload(iid, os.urandom(SIZE_CAP + 1))
    assert r.status_code == 413, r.text
    assert show(api, iid)["status"] == "queued"
    big = os.urandom(SIZE_CAP + 100000)
    r = api.upload(iid, (big[i:i + 65536] for i in range(0, len(big), 65536)))
    assert r.status_code == 413, r.text
    assert show(api, iid)["status"] == "queued"
    assert files_under(store) == before
    r = api("PUT", f"/v2/images/{iid}/stage", data=os.urandom(SIZE_CAP + 1),
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413, r.text
    # exactly the cap is fine
    data = os.urandom(SIZE_CAP)
    assert api.upload(iid, data).status_code == 204
    check_hashes(show(api, iid), data)
    api.delete(iid)


def test_quota_storage(quser, quota_cloud):
    api = quser["image"]
    store = quota_cloud.data_dir / "images"
    a = api.create(disk_format="raw", container_format="bare")
    b = api.create(disk_format="raw", container_format="bare")
    c = api.create(disk_format="raw", container_format="bare")
    assert api.upload(a["id"], os.urandom(200000)).status_code == 204
    assert api.upload(b["id"], os.urandom(200000)).status_code == 204
    before = files_under(store)
    # 400000 used of 500000: 200000 more is over, sized or chunked
    r = api.upload(c["id"], os.urandom(200000))
    assert r.status_code == 413, r.text
    chunks = (os.urandom(50000) for _ in range(4))
    r = api.upload(c["id"], chunks)
    assert r.status_code == 413, r.text
    assert show(api, c["id"])["status"] == "queued"
    assert files_under(store) == before
    # staged data counts too (monostack counts staged bytes against the project's storage)
    r = api("PUT", f"/v2/images/{c['id']}/stage", data=os.urandom(200000),
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413, r.text
    # what fits, fits
    assert api.upload(c["id"], os.urandom(100000)).status_code == 204
    # deleting frees the space
    api.delete(a["id"])
    d = api.create(disk_format="raw", container_format="bare")
    assert api.upload(d["id"], os.urandom(200000)).status_code == 204
    for i in (b, c, d):
        api.delete(i["id"])


def test_quota_image_count(quser):
    api = quser["image"]
    made = [api.create() for _ in range(COUNT_QUOTA)]
    r = api("POST", "/v2/images", {"name": "one-too-many"})
    assert r.status_code == 413, r.text
    api.delete(made.pop()["id"])
    made.append(api.create())
    for m in made:
        api.delete(m["id"])


def test_quota_properties_tags_members(quser, quota_cloud):
    api = quser["image"]
    r = api("POST", "/v2/images", {"p1": "a", "p2": "b", "p3": "c", "p4": "d"})
    assert r.status_code == 413, r.text
    image = api.create(p1="a", p2="b", p3="c", tags=["t1", "t2"])
    iid = image["id"]
    r = api.patch(iid, [{"op": "add", "path": "/p4", "value": "d"}])
    assert r.status_code == 413, r.text
    r = api.patch(iid, [{"op": "remove", "path": "/p3"}, {"op": "add", "path": "/p4",
                                                         "value": "d"}])
    assert r.status_code == 200, r.text
    assert api("PUT", f"/v2/images/{iid}/tags/t3").status_code == 413
    assert api("PUT", f"/v2/images/{iid}/tags/t2").status_code == 204
    r = api("POST", "/v2/images", {"tags": ["a", "b", "c"]})
    assert r.status_code == 413, r.text
    r = api("POST", f"/v2/images/{iid}/members", {"member": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    r = api("POST", f"/v2/images/{iid}/members", {"member": uuid.uuid4().hex})
    assert r.status_code == 413, r.text
    api.delete(iid)


# --- restart repair ----------------------------------------------------------------------------

def test_restart_repairs_images_held_by_a_dead_upload(tmp_path):
    """A server killed in the middle of an upload and of a stage leaves images `saving` and
    `uploading`; the next start puts them back to `queued` with nothing kept, and they take data
    again."""
    db = scratch_db()
    c = start_cloud(tmp_path, db=db)
    socks = []
    try:
        api = ImageApi(c, c.conn().auth_token)
        held = {}
        for kind, path in (("file", "file"), ("stage", "stage")):
            iid = api.create(disk_format="raw", container_format="bare")["id"]
            s = socket.create_connection(("127.0.0.1", c.port), timeout=10)
            s.sendall((f"PUT /image/v2/images/{iid}/{path} HTTP/1.1\r\n"
                       f"Host: 127.0.0.1:{c.port}\r\nX-Auth-Token: {api.headers['X-Auth-Token']}\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       f"Content-Length: {8 << 20}\r\n\r\n").encode() + os.urandom(1 << 20))
            socks.append(s)
            held[kind] = iid
        assert wait_status(api, held["file"], ("saving",))["status"] == "saving"
        assert wait_status(api, held["stage"], ("uploading",))["status"] == "uploading"
        c.proc.kill()                   # no chance to clean up
        c.proc.wait()
    finally:
        for s in socks:
            s.close()
    c = start_cloud(tmp_path, db=db)
    try:
        api = ImageApi(c, c.conn().auth_token)
        for iid in held.values():
            image = show(api, iid)
            assert image["status"] == "queued", image
            assert image["size"] is None and image["checksum"] is None, image
        assert held["stage"] not in files_under(c.data_dir / "image-staging")
        data = os.urandom(4096)
        assert api.upload(held["file"], data).status_code == 204
        check_hashes(show(api, held["file"]), data)
        assert "back to queued" in c.log_path.read_text()
    finally:
        stop_cloud(c)
