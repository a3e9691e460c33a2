#!/usr/bin/python3
"""Prepare a fresh monostack for the Tempest compute tests (used by tests/tempest/run.sh).

    compute_setup.py --auth-url URL --password PW --workdir DIR [--hosts N]

As the admin of the cloud: uploads two small public qcow2 images (tempest's image_ref and
image_ref_alt must differ), reads the highest microversion GET /compute/v2.1 declares, and waits
(up to 20 s) until N hypervisors are listed, so the scheduler has every fake host before the first
test. Prints shell assignments on stdout:

    COMPUTE_IMAGE_REF=... COMPUTE_IMAGE_REF_ALT=... COMPUTE_MAX_MICROVERSION=...

Messages go to stderr; exit status 1 when the cloud cannot be prepared.
"""

import argparse
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import requests


def fail(msg):
    sys.exit(f"compute_setup: {msg}")


def token(auth_url, password):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    r = requests.post(f"{auth_url}/auth/tokens", json=body, timeout=30)
    if r.status_code != 201:
        fail(f"POST /auth/tokens: {r.status_code} {r.text[:300]}")
    return r.headers["X-Subject-Token"], r.json()["token"]["catalog"]


def endpoint(catalog, service_type):
    for svc in catalog:
        if svc["type"] == service_type:
            for ep in svc["endpoints"]:
                if ep["interface"] == "public":
                    return ep["url"].rstrip("/")
    return None


def qcow2(path, virtual_size):
    """A valid, empty qcow2 of virtual_size bytes (qemu-img, else a bare version-3 header)."""
    if shutil.which("qemu-img"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(virtual_size)],
                       check=True, capture_output=True)
    else:
        header = struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 16, virtual_size, 0,
                             1, 3 << 16, 1 << 16, 1, 0, 0, 0, 0, 0, 4, 104)
        Path(path).write_bytes(header.ljust(4 << 16, b"\0"))
    return Path(path).read_bytes()


def upload(image_url, tok, name, data):
    h = {"X-Auth-Token": tok}
    r = requests.post(f"{image_url}/v2/images", headers=h, timeout=30, json={
        "name": name, "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public", "min_disk": 0, "min_ram": 0})
    if r.status_code != 201:
        fail(f"POST /v2/images: {r.status_code} {r.text[:300]}")
    image_id = r.json()["id"]
    r = requests.put(f"{image_url}/v2/images/{image_id}/file", data=data, timeout=60,
                     headers={**h, "Content-Type": "application/octet-stream"})
    if r.status_code != 204:
        fail(f"PUT /v2/images/{image_id}/file: {r.status_code} {r.text[:300]}")
    deadline = time.monotonic() + 30
    while True:
        status = requests.get(f"{image_url}/v2/images/{image_id}", headers=h,
                              timeout=30).json().get("status")
        if status == "active":
            return image_id
        if time.monotonic() > deadline:
            fail(f"image {image_id} is {status}, not active, 30 s after its upload")
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auth-url", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--hosts", type=int, default=1)
    args = ap.parse_args()

    tok, catalog = token(args.auth_url, args.password)
    image_url = endpoint(catalog, "image")
    compute_url = endpoint(catalog, "compute")
    if not image_url or not compute_url:
        fail(f"the catalog lacks image or compute: {[s['type'] for s in catalog]}")

    work = Path(args.workdir)
    ref = upload(image_url, tok, "tempest-image", qcow2(work / "image.qcow2", 1 << 20))
    alt = upload(image_url, tok, "tempest-image-alt", qcow2(work / "image-alt.qcow2", 2 << 20))

    r = requests.get(compute_url, headers={"X-Auth-Token": tok}, timeout=30)
    if r.status_code != 200:
        fail(f"GET {compute_url}: {r.status_code} {r.text[:300]}")
    max_mv = r.json()["version"]["version"] or "2.1"

    # The fake hosts register with the scheduler at start-up; wait until they are listed.
    deadline = time.monotonic() + 20
    seen = -1
    while time.monotonic() < deadline:
        r = requests.get(f"{compute_url}/os-hypervisors", headers={"X-Auth-Token": tok},
                         timeout=30)
        if r.status_code == 200:
            seen = len(r.json().get("hypervisors", []))
            if seen >= args.hosts:
                break
        time.sleep(0.2)
    else:
        print(f"compute_setup: warning: {seen} of {args.hosts} hypervisors listed after 20 s",
              file=sys.stderr)

    print(f"COMPUTE_IMAGE_REF={ref}")
    print(f"COMPUTE_IMAGE_REF_ALT={alt}")
    print(f"COMPUTE_MAX_MICROVERSION={max_mv}")


if __name__ == "__main__":
    main()
