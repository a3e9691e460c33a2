"""Compute (Nova v2.1) resources other than servers: flavors (extra specs, access, microversion
changes), keypairs (import with fingerprints, generation, quota), os-services, os-hypervisors,
availability zones, aggregates, quota sets and classes, limits, simple tenant usage, server
groups, extensions and the legacy os-hosts; through the `openstack` CLI, openstacksdk and plain
HTTP for exact statuses, with the denials Nova's default policy gives members and other
projects. The session cloud runs the fake driver with conftest.FAKE_HOSTS hosts."""

import hashlib
import base64
import subprocess
import uuid

import pytest
import requests

from conftest import FAKE_HOSTS, project_user, start_cloud, stop_cloud, scratch_db, uniq

MV = "OpenStack-API-Version"


class Nova:
    """Plain HTTP against /compute/v2.1 with a token; version="2.X" sends the microversion."""

    def __init__(self, cloud, token):
        self.base = cloud.url + "/compute/v2.1"
        self.headers = {"X-Auth-Token": token}

    def __call__(self, method, path, body=None, *, version=None, **params):
        h = dict(self.headers)
        if version is not None:
            h[MV] = f"compute {version}"
        return requests.request(method, self.base + path, json=body, headers=h,
                                params=params or None, timeout=30)


def ok(r, status=200):
    assert r.status_code == status, f"{r.status_code} {r.text}"
    return r.json() if r.text else None


def fault(r, status):
    """Asserts a Nova error body of that status and returns its message."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    body = r.json()
    (name, inner), = body.items()
    assert inner["code"] == status
    return inner["message"]


@pytest.fixture(scope="module")
def nova(cloud, admin):
    return Nova(cloud, admin.auth_token)


@pytest.fixture(scope="module")
def member(cloud, admin):
    """A member of a project of its own (and its Nova client)."""
    u = project_user(cloud, admin)
    u["nova"] = Nova(cloud, u["conn"].auth_token)
    yield u
    u["cleanup"]()


@pytest.fixture(scope="module")
def other(cloud, admin):
    """A member of yet another project."""
    u = project_user(cloud, admin)
    u["nova"] = Nova(cloud, u["conn"].auth_token)
    yield u
    u["cleanup"]()


def ssh_md5(pub):
    """Nova's fingerprint: MD5 of the key blob in colon hex."""
    digest = hashlib.md5(base64.b64decode(pub.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


# --- flavors ------------------------------------------------------------------------------------

def test_default_flavors_seeded(cloud):
    flavors = {f["Name"]: f for f in cloud.cli_json("flavor", "list")}
    for name, fid, ram, vcpus, disk in [("m1.tiny", "1", 512, 1, 1), ("m1.small", "2", 2048, 1, 20),
                                        ("m1.medium", "3", 4096, 2, 40), ("m1.large", "4", 8192, 4, 80),
                                        ("m1.xlarge", "5", 16384, 8, 160), ("m1.nano", "42", 128, 1, 1),
                                        ("m1.micro", "84", 192, 1, 1)]:
        f = flavors[name]
        assert (f["ID"], f["RAM"], f["VCPUs"], f["Disk"]) == (fid, ram, vcpus, disk)


def test_flavor_cli_lifecycle(cloud):
    name = uniq("flv")
    f = cloud.cli_json("--os-compute-api-version", "2.61", "flavor", "create", "--ram", "256",
                       "--vcpus", "2", "--disk", "3", "--ephemeral", "1", "--swap", "64",
                       "--description", "first", "--property", "hw:cpu_policy=shared", name)
    assert f["name"] == name and f["ram"] == 256 and f["vcpus"] == 2 and f["disk"] == 3
    assert f["OS-FLV-EXT-DATA:ephemeral"] == 1 and f["swap"] == 64
    assert f["description"] == "first"
    cloud.cli("flavor", "set", "--property", "a=b", name, check=True)
    shown = cloud.cli_json("--os-compute-api-version", "2.61", "flavor", "show", name)
    assert shown["properties"] == {"a": "b", "hw:cpu_policy": "shared"}
    cloud.cli("flavor", "unset", "--property", "a", name, check=True)
    assert cloud.cli_json("flavor", "show", name)["properties"] == {"hw:cpu_policy": "shared"}
    cloud.cli("--os-compute-api-version", "2.55", "flavor", "set", "--description", "second", name,
              check=True)
    assert cloud.cli_json("--os-compute-api-version", "2.55", "flavor", "show",
                          name)["description"] == "second"
    cloud.cli("flavor", "delete", name, check=True)
    assert name not in [x["Name"] for x in cloud.cli_json("flavor", "list", "--all")]


def test_flavor_views_per_microversion(nova):
    fid = uniq("fid")
    f = ok(nova("POST", "/flavors", {"flavor": {"name": fid, "id": fid, "ram": 64, "vcpus": 1,
                                                "disk": 0, "rxtx_factor": 2.5}}))["flavor"]
    assert f["swap"] == "" and f["rxtx_factor"] == 2.5 and "description" not in f
    assert f["links"][0]["rel"] == "self" and f["links"][0]["href"].endswith(f"/v2.1/flavors/{fid}")
    f = ok(nova("GET", f"/flavors/{fid}", version="2.75"))["flavor"]
    assert f["swap"] == 0 and f["description"] is None and f["extra_specs"] == {}
    brief = ok(nova("GET", "/flavors", version="2.55"))["flavors"]
    assert all(set(x) == {"id", "name", "links", "description"} for x in brief)
    assert all(set(x) == {"id", "name", "links"} for x in ok(nova("GET", "/flavors"))["flavors"])
    # description is not settable before 2.55, and PUT does not exist before it
    fault(nova("POST", "/flavors", {"flavor": {"name": uniq("f"), "ram": 1, "vcpus": 1, "disk": 0,
                                               "description": "x"}}), 400)
    fault(nova("PUT", f"/flavors/{fid}", {"flavor": {"description": "x"}}), 404)
    ok(nova("PUT", f"/flavors/{fid}", {"flavor": {"description": "x"}}, version="2.55"))
    ok(nova("DELETE", f"/flavors/{fid}"), 202)
    fault(nova("GET", f"/flavors/{fid}"), 404)
    fault(nova("DELETE", f"/flavors/{fid}"), 404)


def test_flavor_create_validation_and_conflicts(nova):
    name = uniq("f")
    base = {"name": name, "ram": 64, "vcpus": 1, "disk": 0}
    created = ok(nova("POST", "/flavors", {"flavor": dict(base)}))["flavor"]
    uuid.UUID(created["id"])   # generated ids are uuids
    fault(nova("POST", "/flavors", {"flavor": dict(base)}), 409)                      # same name
    fault(nova("POST", "/flavors", {"flavor": dict(base, name=uniq("f"), id=created["id"])}), 409)
    for bad in [dict(base, ram=0), dict(base, vcpus=-1), dict(base, disk="x"), dict(base, name=" x"),
                dict(base, id=" lead"), dict(base, rxtx_factor=0), dict(base, extra=1),
                dict(base, **{"os-flavor-access:is_public": "maybe"}), {"ram": 1, "vcpus": 1, "disk": 0}]:
        fault(nova("POST", "/flavors", {"flavor": bad}), 400)
    fault(nova("POST", "/flavors", {"flavour": base}), 400)
    ok(nova("DELETE", f"/flavors/{created['id']}"), 202)


def test_flavor_list_filters_and_paging(nova):
    ids = ok(nova("GET", "/flavors"))["flavors"]
    assert [f["id"] for f in ids] == sorted(f["id"] for f in ids)        # flavorid ascending
    page = ok(nova("GET", "/flavors", limit=2))
    assert len(page["flavors"]) == 2
    nxt = page["flavors_links"][0]
    assert nxt["rel"] == "next" and f"marker={page['flavors'][1]['id']}" in nxt["href"]
    rest = ok(nova("GET", "/flavors", marker=page["flavors"][1]["id"]))["flavors"]
    assert [f["id"] for f in rest] == [f["id"] for f in ids][2:]
    fault(nova("GET", "/flavors", marker="no-such-flavor"), 400)
    big = ok(nova("GET", "/flavors/detail", minRam=4096, minDisk=40))["flavors"]
    assert {f["name"] for f in big} >= {"m1.medium", "m1.large", "m1.xlarge"}
    assert all(f["ram"] >= 4096 and f["disk"] >= 40 for f in big)
    fault(nova("GET", "/flavors", minRam="lots"), 400)
    desc = ok(nova("GET", "/flavors/detail", sort_key="memory_mb", sort_dir="desc"))["flavors"]
    assert [f["ram"] for f in desc] == sorted((f["ram"] for f in desc), reverse=True)
    fault(nova("GET", "/flavors", sort_key="colour"), 400)
    fault(nova("GET", "/flavors", sort_dir="up"), 400)
    fault(nova("GET", "/flavors", limit=-1), 400)
    # unknown query parameters: ignored before 2.75, refused from it
    ok(nova("GET", "/flavors", whatever="1"))
    fault(nova("GET", "/flavors", version="2.75", whatever="1"), 400)


def test_private_flavor_access(nova, member, other):
    name = uniq("priv")
    f = ok(nova("POST", "/flavors", {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 0,
                                                "os-flavor-access:is_public": False}}))["flavor"]
    fid = f["id"]
    assert f["os-flavor-access:is_public"] is False
    # admins list private flavors with is_public=false / None, others never see them
    assert fid in [x["id"] for x in ok(nova("GET", "/flavors", is_public="false"))["flavors"]]
    assert fid in [x["id"] for x in ok(nova("GET", "/flavors", is_public="None"))["flavors"]]
    assert fid not in [x["id"] for x in ok(nova("GET", "/flavors"))["flavors"]]
    fault(nova("GET", "/flavors", is_public="perhaps"), 400)
    fault(member["nova"]("GET", f"/flavors/{fid}"), 404)
    assert fid not in [x["id"] for x in ok(member["nova"]("GET", "/flavors", is_public="false"))["flavors"]]
    assert ok(nova("GET", f"/flavors/{fid}/os-flavor-access"))["flavor_access"] == []
    pid = member["project"].id
    acc = ok(nova("POST", f"/flavors/{fid}/action", {"addTenantAccess": {"tenant": pid}}))
    assert acc["flavor_access"] == [{"flavor_id": fid, "tenant_id": pid}]
    fault(nova("POST", f"/flavors/{fid}/action", {"addTenantAccess": {"tenant": pid}}), 409)
    # the member now sees and lists it; the other project still does not
    assert ok(member["nova"]("GET", f"/flavors/{fid}"))["flavor"]["name"] == name
    assert fid in [x["id"] for x in ok(member["nova"]("GET", "/flavors"))["flavors"]]
    fault(other["nova"]("GET", f"/flavors/{fid}"), 404)
    # only admins manage access
    fault(member["nova"]("GET", f"/flavors/{fid}/os-flavor-access"), 403)
    fault(member["nova"]("POST", f"/flavors/{fid}/action",
                         {"removeTenantAccess": {"tenant": pid}}), 403)
    ok(nova("POST", f"/flavors/{fid}/action", {"removeTenantAccess": {"tenant": pid}}))
    fault(nova("POST", f"/flavors/{fid}/action", {"removeTenantAccess": {"tenant": pid}}), 404)
    fault(member["nova"]("GET", f"/flavors/{fid}"), 404)
    # public flavors: no access list, and adding access conflicts from 2.7
    fault(nova("GET", "/flavors/1/os-flavor-access"), 404)
    fault(nova("POST", "/flavors/1/action", {"addTenantAccess": {"tenant": pid}}, version="2.7"), 409)
    fault(nova("POST", f"/flavors/{fid}/action", {"addTenantAccess": {}}), 400)
    fault(nova("POST", "/flavors/nope/action", {"addTenantAccess": {"tenant": pid}}), 404)
    ok(nova("DELETE", f"/flavors/{fid}"), 202)


def test_flavor_extra_specs_api(nova, member):
    fid = ok(nova("POST", "/flavors", {"flavor": {"name": uniq("es"), "ram": 64, "vcpus": 1,
                                                  "disk": 0}}))["flavor"]["id"]
    es = ok(nova("POST", f"/flavors/{fid}/os-extra_specs",
                 {"extra_specs": {"hw:numa_nodes": "1", "quota:cpu_shares": 2048}}))
    assert es == {"extra_specs": {"hw:numa_nodes": "1", "quota:cpu_shares": "2048"}}
    assert ok(nova("GET", f"/flavors/{fid}/os-extra_specs"))["extra_specs"]["quota:cpu_shares"] == "2048"
    assert ok(nova("GET", f"/flavors/{fid}/os-extra_specs/hw:numa_nodes")) == {"hw:numa_nodes": "1"}
    assert ok(nova("PUT", f"/flavors/{fid}/os-extra_specs/hw:numa_nodes", {"hw:numa_nodes": "2"})) == \
        {"hw:numa_nodes": "2"}
    fault(nova("PUT", f"/flavors/{fid}/os-extra_specs/hw:numa_nodes", {"other": "2"}), 400)
    fault(nova("PUT", f"/flavors/{fid}/os-extra_specs/a", {"a": "1", "b": "2"}), 400)
    fault(nova("POST", f"/flavors/{fid}/os-extra_specs", {"extra_specs": {"bad/key": "1"}}), 400)
    fault(nova("POST", f"/flavors/{fid}/os-extra_specs", {"extra_specs": {"k": "v" * 256}}), 400)
    fault(nova("POST", f"/flavors/{fid}/os-extra_specs", {"extra_specs": {"k": True}}), 400)
    # readers read them (and see them in flavors at 2.61); only admins change them
    assert ok(member["nova"]("GET", f"/flavors/{fid}/os-extra_specs"))["extra_specs"]["hw:numa_nodes"] == "2"
    assert ok(member["nova"]("GET", f"/flavors/{fid}", version="2.61"))["flavor"]["extra_specs"] == \
        {"hw:numa_nodes": "2", "quota:cpu_shares": "2048"}
    assert "extra_specs" not in ok(member["nova"]("GET", f"/flavors/{fid}", version="2.60"))["flavor"]
    fault(member["nova"]("POST", f"/flavors/{fid}/os-extra_specs", {"extra_specs": {"a": "b"}}), 403)
    fault(member["nova"]("DELETE", f"/flavors/{fid}/os-extra_specs/hw:numa_nodes"), 403)
    ok(nova("DELETE", f"/flavors/{fid}/os-extra_specs/hw:numa_nodes"))
    fault(nova("DELETE", f"/flavors/{fid}/os-extra_specs/hw:numa_nodes"), 404)
    fault(nova("GET", f"/flavors/{fid}/os-extra_specs/hw:numa_nodes"), 404)
    ok(nova("DELETE", f"/flavors/{fid}"), 202)


def test_flavor_manage_denied_to_members(member):
    n = member["nova"]
    fault(n("POST", "/flavors", {"flavor": {"name": uniq("f"), "ram": 64, "vcpus": 1, "disk": 0}}), 403)
    fault(n("DELETE", "/flavors/1"), 403)
    fault(n("PUT", "/flavors/1", {"flavor": {"description": "x"}}, version="2.55"), 403)
    assert ok(n("GET", "/flavors/1"))["flavor"]["name"] == "m1.tiny"


# --- keypairs -----------------------------------------------------------------------------------

def test_keypair_cli_import_and_generate(cloud, tmp_path):
    key = tmp_path / "id_rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)], check=True)
    pub = (tmp_path / "id_rsa.pub").read_text()
    name = uniq("kp")
    kp = cloud.cli_json("keypair", "create", "--public-key", str(tmp_path / "id_rsa.pub"), name)
    assert kp["fingerprint"] == ssh_md5(pub)
    expected = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", str(tmp_path / "id_rsa.pub")],
                              capture_output=True, text=True, check=True).stdout.split()[1]
    assert "MD5:" + kp["fingerprint"] == expected
    shown = cloud.cli_json("keypair", "show", name)
    assert shown["fingerprint"] == kp["fingerprint"] and shown["type"] == "ssh"
    assert name in [k["Name"] for k in cloud.cli_json("keypair", "list")]
    cloud.cli("keypair", "delete", name, check=True)
    assert name not in [k["Name"] for k in cloud.cli_json("keypair", "list")]


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
def test_keypair_import_other_key_types(nova, tmp_path, kind):
    key = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
    pub = (tmp_path / f"id_{kind}.pub").read_text().strip()
    name = uniq("kp")
    kp = ok(nova("POST", "/os-keypairs", {"keypair": {"name": name, "public_key": pub}},
                 version="2.2"), 201)["keypair"]
    assert kp["fingerprint"] == ssh_md5(pub) and kp["type"] == "ssh" and "private_key" not in kp
    ok(nova("DELETE", f"/os-keypairs/{name}", version="2.2"), 204)


def test_keypair_generate_and_views(nova):
    name = uniq("kp")
    kp = ok(nova("POST", "/os-keypairs", {"keypair": {"name": name}}))["keypair"]    # 2.1: 200
    assert kp["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert kp["public_key"].startswith("ssh-rsa ") and kp["public_key"].endswith(" Generated-by-Nova")
    assert kp["fingerprint"] == ssh_md5(kp["public_key"]) and "type" not in kp
    shown = ok(nova("GET", f"/os-keypairs/{name}"))["keypair"]
    assert set(shown) == {"name", "public_key", "fingerprint", "user_id", "created_at", "updated_at",
                          "deleted_at", "deleted", "id"}
    assert isinstance(shown["id"], int) and shown["deleted"] is False
    assert ok(nova("GET", f"/os-keypairs/{name}", version="2.2"))["keypair"]["type"] == "ssh"
    listed = ok(nova("GET", "/os-keypairs", version="2.2"))["keypairs"]
    entry = [k["keypair"] for k in listed if k["keypair"]["name"] == name][0]
    assert set(entry) == {"name", "public_key", "fingerprint", "type"}
    fault(nova("POST", "/os-keypairs", {"keypair": {"name": name}}), 409)
    ok(nova("DELETE", f"/os-keypairs/{name}"), 202)                                 # 2.1: 202
    fault(nova("GET", f"/os-keypairs/{name}"), 404)
    fault(nova("DELETE", f"/os-keypairs/{name}"), 404)


def test_keypair_x509(nova, tmp_path):
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=kp", "-days", "2"], check=True, capture_output=True)
    fp = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha1"],
                        capture_output=True, text=True, check=True).stdout.strip().split("=")[1]
    name = uniq("x509")
    kp = ok(nova("POST", "/os-keypairs", {"keypair": {"name": name, "type": "x509",
                                                      "public_key": cert.read_text()}}, version="2.2"), 201)
    assert kp["keypair"]["fingerprint"] == fp.lower() and kp["keypair"]["type"] == "x509"
    gen = ok(nova("POST", "/os-keypairs", {"keypair": {"name": uniq("x509"), "type": "x509"}},
                  version="2.2"), 201)["keypair"]
    assert gen["public_key"].startswith("-----BEGIN CERTIFICATE-----") and len(gen["fingerprint"]) == 59
    base64.b64decode(gen["private_key"])        # a PKCS#12 bundle, base64
    fault(nova("POST", "/os-keypairs", {"keypair": {"name": uniq("x"), "type": "x509",
                                                    "public_key": "not a cert"}}, version="2.2"), 400)
    # type is not known before 2.2
    fault(nova("POST", "/os-keypairs", {"keypair": {"name": uniq("x"), "type": "ssh"}}), 400)
    for n in (name, gen["name"]):
        ok(nova("DELETE", f"/os-keypairs/{n}", version="2.2"), 204)


def test_keypair_validation(nova):
    for body in [{"keypair": {"name": "bad/name"}}, {"keypair": {"name": ""}}, {"keypair": {}},
                 {"keypair": {"name": "a", "public_key": "ssh-rsa AAAA junk"}},
                 {"keypair": {"name": "a", "public_key": "garbage"}},
                 {"keypair": {"name": "a", "extra": 1}}, {"keypairs": {"name": "a"}}]:
        fault(nova("POST", "/os-keypairs", body), 400)
    fault(nova("POST", "/os-keypairs", {"keypair": {"name": "a", "type": "rsa"}}, version="2.2"), 400)


def test_keypairs_belong_to_users(nova, member, other, admin):
    name = uniq("mine")
    ok(member["nova"]("POST", "/os-keypairs", {"keypair": {"name": name}}, version="2.10"), 201)
    fault(other["nova"]("GET", f"/os-keypairs/{name}"), 404)
    fault(other["nova"]("DELETE", f"/os-keypairs/{name}", version="2.10"), 404)
    assert name not in [k["keypair"]["name"] for k in ok(other["nova"]("GET", "/os-keypairs"))["keypairs"]]
    uid = member["user"].id
    # another user's keypairs: admins only (2.10)
    fault(other["nova"]("GET", "/os-keypairs", version="2.10", user_id=uid), 403)
    fault(other["nova"]("GET", f"/os-keypairs/{name}", version="2.10", user_id=uid), 403)
    fault(other["nova"]("POST", "/os-keypairs", {"keypair": {"name": uniq("k"), "user_id": uid}},
                        version="2.10"), 403)
    listed = ok(nova("GET", "/os-keypairs", version="2.10", user_id=uid))["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == [name]
    assert ok(nova("GET", f"/os-keypairs/{name}", version="2.10", user_id=uid))["keypair"]["user_id"] == uid
    # an admin creates one for the member
    made = ok(nova("POST", "/os-keypairs", {"keypair": {"name": uniq("for"), "user_id": uid}},
                   version="2.10"), 201)["keypair"]
    assert made["user_id"] == uid
    # before 2.10 the user_id parameter is ignored
    assert ok(nova("GET", "/os-keypairs", version="2.9", user_id=uid))["keypairs"] != listed
    ok(nova("DELETE", f"/os-keypairs/{name}", version="2.10", user_id=uid), 204)
    ok(nova("DELETE", f"/os-keypairs/{made['name']}", version="2.10", user_id=uid), 204)


def test_keypair_paging(member):
    n = member["nova"]
    names = sorted(uniq("pg") for _ in range(3))
    for name in names:
        ok(n("POST", "/os-keypairs", {"keypair": {"name": name}}, version="2.35"), 201)
    page = ok(n("GET", "/os-keypairs", version="2.35", limit=2))
    first = [k["keypair"]["name"] for k in page["keypairs"]]
    assert len(first) == 2 and page["keypairs_links"][0]["rel"] == "next"
    rest = ok(n("GET", "/os-keypairs", version="2.35", marker=first[-1]))["keypairs"]
    assert sorted(first + [k["keypair"]["name"] for k in rest]) == \
        sorted(k["keypair"]["name"] for k in ok(n("GET", "/os-keypairs"))["keypairs"])
    fault(n("GET", "/os-keypairs", version="2.35", marker="nope"), 400)
    fault(n("GET", "/os-keypairs", version="2.75", foo="1"), 400)
    for name in names:
        ok(n("DELETE", f"/os-keypairs/{name}", version="2.35"), 204)


def test_keypair_quota(nova, member):
    pid, uid = member["project"].id, member["user"].id
    have = len(ok(member["nova"]("GET", "/os-keypairs"))["keypairs"])
    ok(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"key_pairs": have + 1}}))
    name = uniq("q")
    ok(member["nova"]("POST", "/os-keypairs", {"keypair": {"name": name}}))
    msg = fault(member["nova"]("POST", "/os-keypairs", {"keypair": {"name": uniq("q")}}), 403)
    assert msg == "Quota exceeded, too many key pairs."
    # a per-user limit wins over the project's (and may not exceed it)
    ok(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"key_pairs": have + 5}}))
    fault(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"key_pairs": have + 6}}, user_id=uid), 400)
    ok(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"key_pairs": have + 1}}, user_id=uid))
    fault(member["nova"]("POST", "/os-keypairs", {"keypair": {"name": uniq("q")}}), 403)
    ok(nova("DELETE", f"/os-quota-sets/{pid}", user_id=uid), 202)
    ok(member["nova"]("POST", "/os-keypairs", {"keypair": {"name": uniq("q")}}))
    ok(nova("DELETE", f"/os-quota-sets/{pid}"), 202)
    for k in ok(member["nova"]("GET", "/os-keypairs"))["keypairs"]:
        ok(member["nova"]("DELETE", f"/os-keypairs/{k['keypair']['name']}"), 202)


# --- services, hypervisors, zones, aggregates ---------------------------------------------------

def compute_services(nova, version=None):
    return [s for s in ok(nova("GET", "/os-services", version=version,
                               binary="nova-compute"))["services"]]


def test_services_list_and_filters(cloud, nova):
    svcs = compute_services(nova)
    assert len(svcs) == FAKE_HOSTS
    s = svcs[0]
    assert isinstance(s["id"], int) and s["state"] == "up" and s["status"] == "enabled"
    assert s["zone"] == "nova" and "forced_down" not in s
    assert ok(nova("GET", "/os-services", host=s["host"]))["services"][0]["host"] == s["host"]
    assert ok(nova("GET", "/os-services", host="no-such-host"))["services"] == []
    s211 = compute_services(nova, "2.11")[0]
    assert s211["forced_down"] is False
    s253 = compute_services(nova, "2.53")[0]
    uuid.UUID(s253["id"])
    rows = cloud.cli_json("compute", "service", "list", "--service", "nova-compute")
    assert sorted(r["Host"] for r in rows) == sorted(x["host"] for x in svcs)
    others = [x for x in ok(nova("GET", "/os-services"))["services"] if x["binary"] != "nova-compute"]
    assert all(x["zone"] == "internal" for x in others)


def test_service_disable_enable(cloud, nova):
    host = compute_services(nova)[-1]["host"]
    cloud.cli("compute", "service", "set", "--disable", "--disable-reason", "maint", host,
              "nova-compute", check=True)
    s = [x for x in compute_services(nova) if x["host"] == host][0]
    assert s["status"] == "disabled" and s["disabled_reason"] == "maint"
    cloud.cli("compute", "service", "set", "--enable", host, "nova-compute", check=True)
    s = [x for x in compute_services(nova) if x["host"] == host][0]
    assert s["status"] == "enabled" and s["disabled_reason"] is None
    # the pre-2.53 action routes
    r = ok(nova("PUT", "/os-services/disable-log-reason",
                {"host": host, "binary": "nova-compute", "disabled_reason": "x"}))
    assert r["service"] == {"host": host, "binary": "nova-compute", "status": "disabled",
                            "disabled_reason": "x"}
    assert ok(nova("PUT", "/os-services/enable", {"host": host, "binary": "nova-compute"}))["service"][
        "status"] == "enabled"
    fault(nova("PUT", "/os-services/disable-log-reason", {"host": host, "binary": "nova-compute"}), 400)
    fault(nova("PUT", "/os-services/force-down", {"host": host, "binary": "nova-compute",
                                                  "forced_down": True}), 400)    # 2.11 field
    fault(nova("PUT", "/os-services/force-down", {"host": host, "binary": "nova-compute"},
               version="2.11"), 400)
    fault(nova("PUT", "/os-services/reboot", {"host": host, "binary": "nova-compute"}), 404)
    fault(nova("PUT", "/os-services/disable", {"host": "nohost", "binary": "nova-compute"}), 404)
    fault(nova("PUT", "/os-services/disable", {"host": host, "binary": "nova-scheduler"}), 400)
    # 2.53: by uuid
    sid = [x for x in compute_services(nova, "2.53") if x["host"] == host][0]["id"]
    r = ok(nova("PUT", f"/os-services/{sid}", {"status": "disabled", "disabled_reason": "y"},
                version="2.53"))["service"]
    assert r["status"] == "disabled" and r["disabled_reason"] == "y" and r["id"] == sid
    fault(nova("PUT", f"/os-services/{sid}", {"status": "enabled", "disabled_reason": "z"},
               version="2.53"), 400)
    r = ok(nova("PUT", f"/os-services/{sid}", {"forced_down": True}, version="2.53"))["service"]
    assert r["forced_down"] is True and r["state"] == "down"
    r = ok(nova("PUT", f"/os-services/{sid}", {"status": "enabled", "forced_down": False},
                version="2.53"))["service"]
    assert r["status"] == "enabled" and r["forced_down"] is False and r["disabled_reason"] is None
    fault(nova("PUT", f"/os-services/{sid}", {}, version="2.53"), 400)
    fault(nova("PUT", "/os-services/not-a-uuid", {"status": "enabled"}, version="2.53"), 400)
    fault(nova("PUT", f"/os-services/{uuid.uuid4()}", {"status": "enabled"}, version="2.53"), 404)


def test_services_denied_to_members(member):
    n = member["nova"]
    fault(n("GET", "/os-services"), 403)
    fault(n("PUT", "/os-services/disable", {"host": "x", "binary": "nova-compute"}), 403)
    fault(n("DELETE", "/os-services/1"), 403)


def test_hypervisors(cloud, nova):
    hyps = ok(nova("GET", "/os-hypervisors"))["hypervisors"]
    assert len(hyps) == FAKE_HOSTS
    h = hyps[0]
    assert set(h) == {"id", "hypervisor_hostname", "state", "status"} and isinstance(h["id"], int)
    d = ok(nova("GET", f"/os-hypervisors/{h['id']}"))["hypervisor"]
    assert d["vcpus"] > 0 and d["memory_mb"] > 0 and isinstance(d["cpu_info"], str)
    assert d["free_ram_mb"] == d["memory_mb"] - d["memory_mb_used"]
    assert d["service"]["host"] and isinstance(d["service"]["id"], int)
    d28 = ok(nova("GET", f"/os-hypervisors/{h['id']}", version="2.28"))["hypervisor"]
    assert isinstance(d28["cpu_info"], dict)
    detail = ok(nova("GET", "/os-hypervisors/detail"))["hypervisors"]
    assert {x["hypervisor_hostname"] for x in detail} == {x["hypervisor_hostname"] for x in hyps}
    stats = ok(nova("GET", "/os-hypervisors/statistics"))["hypervisor_statistics"]
    assert stats["count"] == FAKE_HOSTS and stats["vcpus"] == sum(x["vcpus"] for x in detail)
    up = ok(nova("GET", f"/os-hypervisors/{h['id']}/uptime"))["hypervisor"]
    assert " up " in up["uptime"]
    found = ok(nova("GET", f"/os-hypervisors/{h['hypervisor_hostname']}/search"))["hypervisors"]
    assert [x["id"] for x in found] == [h["id"]]
    fault(nova("GET", "/os-hypervisors/zzz-none/search"), 404)
    fault(nova("GET", "/os-hypervisors/999999"), 404)
    fault(nova("GET", "/os-hypervisors/abc"), 404)
    # paging (2.33)
    page = ok(nova("GET", "/os-hypervisors", version="2.33", limit=1))
    assert len(page["hypervisors"]) == 1 and page["hypervisors_links"][0]["rel"] == "next"
    # uuids, pattern and with_servers (2.53); the old routes are gone
    h53 = ok(nova("GET", "/os-hypervisors", version="2.53"))["hypervisors"]
    uuid.UUID(h53[0]["id"])
    one = ok(nova("GET", "/os-hypervisors", version="2.53",
                  hypervisor_hostname_pattern=h53[0]["hypervisor_hostname"]))["hypervisors"]
    assert [x["id"] for x in one] == [h53[0]["id"]]
    fault(nova("GET", "/os-hypervisors", version="2.53", hypervisor_hostname_pattern="zzz"), 404)
    fault(nova("GET", "/os-hypervisors", version="2.53", hypervisor_hostname_pattern="a", limit=1), 400)
    shown = ok(nova("GET", f"/os-hypervisors/{h53[0]['id']}", version="2.75",
                    with_servers="true"))["hypervisor"]
    assert isinstance(shown["servers"], list)
    fault(nova("GET", "/os-hypervisors/1", version="2.53"), 400)
    fault(nova("GET", "/os-hypervisors/abc/search", version="2.53"), 404)
    fault(nova("GET", "/os-hypervisors", version="2.53", with_servers="maybe"), 400)
    assert len(cloud.cli_json("hypervisor", "list")) == FAKE_HOSTS


def test_hypervisors_denied_to_members(member):
    for path in ["/os-hypervisors", "/os-hypervisors/detail", "/os-hypervisors/statistics",
                 "/os-hypervisors/1", "/os-hypervisors/1/uptime"]:
        fault(member["nova"]("GET", path), 403)


def test_availability_zones(cloud, nova, member):
    zones = ok(member["nova"]("GET", "/os-availability-zone"))["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    fault(member["nova"]("GET", "/os-availability-zone/detail"), 403)
    detail = ok(nova("GET", "/os-availability-zone/detail"))["availabilityZoneInfo"]
    by = {z["zoneName"]: z for z in detail}
    assert "internal" in by and len(by["nova"]["hosts"]) == FAKE_HOSTS
    svc = next(iter(next(iter(by["nova"]["hosts"].values())).values()))
    assert svc["available"] is True and svc["active"] is True
    names = [z["Zone Name"] for z in cloud.cli_json("availability", "zone", "list", "--compute")]
    assert "nova" in names


def test_aggregates_and_zones(cloud, nova, member):
    hosts = sorted(s["host"] for s in compute_services(nova))
    name, zone = uniq("agg"), uniq("az")
    ag = cloud.cli_json("aggregate", "create", "--zone", zone, name)
    assert ag["availability_zone"] == zone and ag["name"] == name
    agid = ag["id"]
    cloud.cli("aggregate", "add", "host", name, hosts[0], check=True)
    # membership is mirrored into placement: the node's provider is in the aggregate's uuid
    agg_uuid = ok(nova("GET", f"/os-aggregates/{agid}", version="2.41"))["aggregate"]["uuid"]
    node = [h for h in ok(nova("GET", "/os-hypervisors", version="2.53"))["hypervisors"]
            if h["hypervisor_hostname"] == hosts[0]][0]["id"]
    plc = requests.get(f"{cloud.url}/placement/resource_providers/{node}/aggregates", timeout=30,
                       headers={"X-Auth-Token": nova.headers["X-Auth-Token"],
                                "OpenStack-API-Version": "placement 1.19"})
    assert plc.status_code == 200 and plc.json()["aggregates"] == [agg_uuid], plc.text
    zones = [z["zoneName"] for z in ok(member["nova"]("GET", "/os-availability-zone"))["availabilityZoneInfo"]]
    assert zone in zones
    svc = [s for s in compute_services(nova) if s["host"] == hosts[0]][0]
    assert svc["zone"] == zone
    # conflicts and unknowns
    fault(nova("POST", f"/os-aggregates/{agid}/action", {"add_host": {"host": hosts[0]}}), 409)
    fault(nova("POST", f"/os-aggregates/{agid}/action", {"add_host": {"host": "no-such-host"}}), 404)
    other = ok(nova("POST", "/os-aggregates", {"aggregate": {"name": uniq("agg"),
                                                             "availability_zone": uniq("az")}}))["aggregate"]
    fault(nova("POST", f"/os-aggregates/{other['id']}/action", {"add_host": {"host": hosts[0]}}), 409)
    fault(nova("POST", "/os-aggregates", {"aggregate": {"name": name}}), 409)
    # set_metadata: a null value deletes; moving the zone while another aggregate disagrees is refused
    agg = ok(nova("POST", f"/os-aggregates/{agid}/action",
                  {"set_metadata": {"metadata": {"k1": "v1", "k2": "v2"}}}))["aggregate"]
    assert agg["metadata"] == {"availability_zone": zone, "k1": "v1", "k2": "v2"}
    agg = ok(nova("POST", f"/os-aggregates/{agid}/action",
                  {"set_metadata": {"metadata": {"k1": None}}}))["aggregate"]
    assert agg["metadata"] == {"availability_zone": zone, "k2": "v2"}
    ok(nova("POST", f"/os-aggregates/{other['id']}/action", {"set_metadata": {"metadata": {"a": "b"}}}))
    ok(nova("POST", f"/os-aggregates/{other['id']}/action", {"add_host": {"host": hosts[-1]}}))
    fault(nova("POST", f"/os-aggregates/{other['id']}/action",
               {"set_metadata": {"metadata": {"availability_zone": None}}}), 400)
    # renaming the zone through update moves the host
    new_zone = uniq("az")
    upd = ok(nova("PUT", f"/os-aggregates/{agid}", {"aggregate": {"availability_zone": new_zone}}))["aggregate"]
    assert upd["availability_zone"] == new_zone and upd["updated_at"]
    assert [s for s in compute_services(nova) if s["host"] == hosts[0]][0]["zone"] == new_zone
    fault(nova("PUT", f"/os-aggregates/{agid}", {"aggregate": {}}), 400)
    # uuid from 2.41
    assert "uuid" not in ok(nova("GET", f"/os-aggregates/{agid}"))["aggregate"]
    uuid.UUID(ok(nova("GET", f"/os-aggregates/{agid}", version="2.41"))["aggregate"]["uuid"])
    assert agid in [a["id"] for a in ok(nova("GET", "/os-aggregates"))["aggregates"]]
    # deleting needs an empty aggregate
    fault(nova("DELETE", f"/os-aggregates/{agid}"), 400)
    fault(nova("POST", f"/os-aggregates/{agid}/action", {"remove_host": {"host": hosts[-1]}}), 404)
    for a, h in [(agid, hosts[0]), (other["id"], hosts[-1])]:
        assert ok(nova("POST", f"/os-aggregates/{a}/action", {"remove_host": {"host": h}}))["aggregate"][
            "hosts"] == []
        ok(nova("DELETE", f"/os-aggregates/{a}"))
    plc = requests.get(f"{cloud.url}/placement/resource_providers/{node}/aggregates", timeout=30,
                       headers={"X-Auth-Token": nova.headers["X-Auth-Token"],
                                "OpenStack-API-Version": "placement 1.19"})
    assert plc.json()["aggregates"] == []
    fault(nova("GET", f"/os-aggregates/{agid}"), 404)
    fault(nova("GET", "/os-aggregates/abc"), 400)
    assert [s for s in compute_services(nova) if s["host"] == hosts[0]][0]["zone"] == "nova"


def test_aggregates_denied_to_members(member):
    n = member["nova"]
    fault(n("GET", "/os-aggregates"), 403)
    fault(n("POST", "/os-aggregates", {"aggregate": {"name": uniq("a")}}), 403)
    fault(n("POST", "/os-aggregates/1/action", {"add_host": {"host": "x"}}), 403)


def test_service_delete_takes_nodes(tmp_path):
    """Deleting a compute service removes its hypervisor (own cloud: destructive)."""
    c = start_cloud(tmp_path, {"compute": {"fake_hosts": 2}}, db=scratch_db())
    try:
        n = Nova(c, c.conn().auth_token)
        svcs = compute_services(n, "2.53")
        victim = svcs[-1]
        ag = ok(n("POST", "/os-aggregates", {"aggregate": {"name": "a1"}}))["aggregate"]
        ok(n("POST", f"/os-aggregates/{ag['id']}/action", {"add_host": {"host": victim["host"]}}))
        fault(n("DELETE", "/os-services/abc", version="2.53"), 400)
        fault(n("DELETE", "/os-services/abc"), 400)
        fault(n("DELETE", f"/os-services/{uuid.uuid4()}", version="2.53"), 404)
        node = [h for h in ok(n("GET", "/os-hypervisors", version="2.53"))["hypervisors"]
                if h["hypervisor_hostname"] == victim["host"]][0]["id"]
        ok(n("DELETE", f"/os-services/{victim['id']}", version="2.53"), 204)
        rp = requests.get(f"{c.url}/placement/resource_providers/{node}", timeout=30,
                          headers={"X-Auth-Token": n.headers["X-Auth-Token"]})
        assert rp.status_code == 404, rp.text
        assert victim["host"] not in [s["host"] for s in compute_services(n)]
        hyps = ok(n("GET", "/os-hypervisors"))["hypervisors"]
        assert victim["host"] not in [h["hypervisor_hostname"] for h in hyps]
        assert ok(n("GET", f"/os-aggregates/{ag['id']}"))["aggregate"]["hosts"] == []
    finally:
        stop_cloud(c)


def test_legacy_os_hosts(nova, member):
    hosts = ok(nova("GET", "/os-hosts", version="2.42"))["hosts"]
    computes = [h for h in hosts if h["service"] == "compute"]
    assert len(computes) == FAKE_HOSTS and all(h["zone"] == "nova" for h in computes)
    assert ok(nova("GET", "/os-hosts", zone="nova"))["hosts"] == computes
    assert ok(nova("GET", "/os-hosts", zone="nowhere"))["hosts"] == []
    res = ok(nova("GET", f"/os-hosts/{computes[0]['host_name']}"))["host"]
    assert [x["resource"]["project"] for x in res[:3]] == ["(total)", "(used_now)", "(used_max)"]
    fault(nova("GET", "/os-hosts/no-such-host"), 404)
    fault(nova("GET", "/os-hosts", version="2.43"), 404)
    fault(nova("PUT", f"/os-hosts/{computes[0]['host_name']}", {"status": "enable"}), 501)
    fault(nova("GET", "/os-hosts/no-such-host/reboot"), 404)
    fault(member["nova"]("GET", "/os-hosts"), 403)


# --- quotas, limits, usage ----------------------------------------------------------------------

def test_quota_sets(cloud, nova, member, other):
    pid = member["project"].id
    q = ok(nova("GET", f"/os-quota-sets/{pid}"))["quota_set"]
    assert q["id"] == pid and q["instances"] == 10 and q["cores"] == 20 and q["ram"] == 51200
    assert q["floating_ips"] == -1 and q["injected_files"] == 5 and q["key_pairs"] == 100
    q36 = ok(nova("GET", f"/os-quota-sets/{pid}", version="2.36"))["quota_set"]
    assert "floating_ips" not in q36 and "injected_files" in q36
    q57 = ok(nova("GET", f"/os-quota-sets/{pid}", version="2.57"))["quota_set"]
    assert "injected_files" not in q57 and "server_groups" in q57
    assert ok(nova("GET", f"/os-quota-sets/{pid}/defaults"))["quota_set"]["instances"] == 10
    # update (the response has no id), per user, detail, delete
    upd = ok(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"instances": 7, "cores": "30"}}))["quota_set"]
    assert upd["instances"] == 7 and upd["cores"] == 30 and "id" not in upd
    uid = member["user"].id
    ok(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"instances": 3}}, user_id=uid))
    assert ok(nova("GET", f"/os-quota-sets/{pid}", user_id=uid))["quota_set"]["instances"] == 3
    assert ok(nova("GET", f"/os-quota-sets/{pid}"))["quota_set"]["instances"] == 7
    fault(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"instances": 8}}, user_id=uid), 400)  # > project
    det = ok(nova("GET", f"/os-quota-sets/{pid}/detail"))["quota_set"]
    assert det["instances"] == {"limit": 7, "in_use": 0, "reserved": 0}
    shown = cloud.cli_json("quota", "show", pid)
    assert shown["instances"] == 7 and shown["cores"] == 30
    cloud.cli("quota", "set", "--ram", "1024", pid, check=True)
    assert cloud.cli_json("quota", "show", pid)["ram"] == 1024
    for bad in [{"quota_set": {"instances": -2}}, {"quota_set": {"instances": "many"}},
                {"quota_set": {"bogus": 1}}, {"quota_sets": {}}, {"quota_set": {"networks": 1}}]:
        fault(nova("PUT", f"/os-quota-sets/{pid}", bad), 400)
    fault(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"floating_ips": 1}}, version="2.36"), 400)
    ok(nova("DELETE", f"/os-quota-sets/{pid}", user_id=uid), 202)
    assert ok(nova("GET", f"/os-quota-sets/{pid}", user_id=uid))["quota_set"]["instances"] == 7
    ok(nova("DELETE", f"/os-quota-sets/{pid}"), 202)
    assert ok(nova("GET", f"/os-quota-sets/{pid}"))["quota_set"]["instances"] == 10
    # members read their own project's quotas only, and change none
    assert ok(member["nova"]("GET", f"/os-quota-sets/{pid}"))["quota_set"]["id"] == pid
    assert ok(member["nova"]("GET", f"/os-quota-sets/{pid}/detail"))["quota_set"]["id"] == pid
    fault(member["nova"]("GET", f"/os-quota-sets/{other['project'].id}"), 403)
    fault(member["nova"]("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"instances": 50}}), 403)
    fault(member["nova"]("DELETE", f"/os-quota-sets/{pid}"), 403)
    assert ok(member["nova"]("GET", f"/os-quota-sets/{other['project'].id}/defaults"))["quota_set"]


def test_quota_force_and_floor(nova, member):
    pid = member["project"].id
    names = [uniq("g") for _ in range(2)]
    for n in names:
        ok(member["nova"]("POST", "/os-server-groups",
                          {"server_group": {"name": n, "policies": ["affinity"]}}))
    msg = fault(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"server_groups": 1}}), 400)
    assert "already used" in msg
    ok(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"server_groups": 1, "force": True}}))
    msg = fault(member["nova"]("POST", "/os-server-groups",
                               {"server_group": {"name": uniq("g"), "policies": ["affinity"]}}), 403)
    assert msg == "Quota exceeded, too many server groups."
    ok(nova("DELETE", f"/os-quota-sets/{pid}"), 202)
    for g in ok(member["nova"]("GET", "/os-server-groups"))["server_groups"]:
        ok(member["nova"]("DELETE", f"/os-server-groups/{g['id']}"), 204)


def test_quota_classes(nova, member):
    c = ok(nova("GET", "/os-quota-class-sets/default"))["quota_class_set"]
    assert c["id"] == "default" and c["instances"] == 10 and "server_groups" not in c
    c50 = ok(nova("GET", "/os-quota-class-sets/default", version="2.50"))["quota_class_set"]
    assert "server_groups" in c50 and "floating_ips" not in c50
    upd = ok(nova("PUT", "/os-quota-class-sets/default", {"quota_class_set": {"instances": 15}}))
    assert upd["quota_class_set"]["instances"] == 15
    # the default class feeds project defaults
    pid = member["project"].id
    assert ok(nova("GET", f"/os-quota-sets/{pid}"))["quota_set"]["instances"] == 15
    assert ok(nova("GET", f"/os-quota-sets/{pid}/defaults"))["quota_set"]["instances"] == 15
    ok(nova("PUT", "/os-quota-class-sets/default", {"quota_class_set": {"instances": 10}}))
    fault(nova("PUT", "/os-quota-class-sets/default", {"quota_class_set": {"nope": 1}}), 400)
    fault(member["nova"]("GET", "/os-quota-class-sets/default"), 403)
    fault(member["nova"]("PUT", "/os-quota-class-sets/default", {"quota_class_set": {"instances": 1}}), 403)


def test_limits(cloud, nova, member, other):
    pid = member["project"].id
    ok(nova("PUT", f"/os-quota-sets/{pid}", {"quota_set": {"cores": 11}}))
    lim = ok(member["nova"]("GET", "/limits"))["limits"]
    assert lim["rate"] == []
    a = lim["absolute"]
    assert a["maxTotalCores"] == 11 and a["maxTotalInstances"] == 10 and a["totalInstancesUsed"] == 0
    for k in ["maxTotalRAMSize", "maxServerMeta", "maxImageMeta", "maxPersonality", "maxPersonalitySize",
              "maxTotalKeypairs", "maxServerGroups", "maxServerGroupMembers", "maxTotalFloatingIps",
              "maxSecurityGroups", "totalRAMUsed", "totalCoresUsed", "totalServerGroupsUsed"]:
        assert k in a, k
    a36 = ok(member["nova"]("GET", "/limits", version="2.36"))["limits"]["absolute"]
    assert "maxTotalFloatingIps" not in a36 and "maxSecurityGroups" not in a36 and "maxImageMeta" in a36
    a39 = ok(member["nova"]("GET", "/limits", version="2.39"))["limits"]["absolute"]
    assert "maxImageMeta" not in a39 and "maxPersonality" in a39
    a57 = ok(member["nova"]("GET", "/limits", version="2.57"))["limits"]["absolute"]
    assert "maxPersonality" not in a57 and "maxPersonalitySize" not in a57
    # another project's limits: admins only
    assert ok(nova("GET", "/limits", tenant_id=pid))["limits"]["absolute"]["maxTotalCores"] == 11
    fault(other["nova"]("GET", "/limits", tenant_id=pid), 403)
    fault(member["nova"]("GET", "/limits", version="2.75", foo="1"), 400)
    rows = {r["Name"]: r["Value"] for r in cloud.cli_json("limits", "show", "--absolute")}
    assert rows["maxTotalInstances"] == 10
    ok(nova("DELETE", f"/os-quota-sets/{pid}"), 202)


def test_simple_tenant_usage(nova, member, other):
    pid = member["project"].id
    listed = ok(nova("GET", "/os-simple-tenant-usage", start="2020-01-01T00:00:00", end="2020-01-02T00:00:00"))
    assert listed == {"tenant_usages": []}
    mine = ok(member["nova"]("GET", f"/os-simple-tenant-usage/{pid}", start="2020-01-01T00:00:00.000000"))
    assert mine["tenant_usage"] == {} or mine["tenant_usage"]["tenant_id"] == pid
    fault(nova("GET", "/os-simple-tenant-usage", start="2021-01-01T00:00:00", end="2020-01-01T00:00:00"), 400)
    fault(nova("GET", "/os-simple-tenant-usage", start="yesterday"), 400)
    fault(nova("GET", "/os-simple-tenant-usage/", start="2020-01-01T00:00:00"), 404)
    fault(member["nova"]("GET", "/os-simple-tenant-usage"), 403)
    fault(other["nova"]("GET", f"/os-simple-tenant-usage/{pid}"), 403)


# --- server groups, extensions ------------------------------------------------------------------

def test_server_groups(cloud, nova, member, other):
    n = member["nova"]
    g = ok(n("POST", "/os-server-groups", {"server_group": {"name": uniq("g"),
                                                            "policies": ["anti-affinity"]}}))["server_group"]
    assert g["policies"] == ["anti-affinity"] and g["metadata"] == {} and g["members"] == []
    assert "project_id" not in g
    g13 = ok(n("GET", f"/os-server-groups/{g['id']}", version="2.13"))["server_group"]
    assert g13["project_id"] == member["project"].id and g13["user_id"] == member["user"].id
    g64 = ok(n("GET", f"/os-server-groups/{g['id']}", version="2.64"))["server_group"]
    assert g64["policy"] == "anti-affinity" and g64["rules"] == {} and "policies" not in g64
    r = ok(n("POST", "/os-server-groups", {"server_group": {"name": uniq("g"), "policy": "anti-affinity",
                                                            "rules": {"max_server_per_host": 2}}},
             version="2.64"))["server_group"]
    assert r["rules"] == {"max_server_per_host": 2}
    for body, ver in [({"name": "x", "policies": ["soft-affinity"]}, "2.14"),
                      ({"name": "x", "policies": ["affinity", "anti-affinity"]}, None),
                      ({"name": "x", "policies": []}, None), ({"name": "", "policies": ["affinity"]}, None),
                      ({"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}, "2.64"),
                      ({"name": "x", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}, "2.64"),
                      ({"name": "x", "policies": ["affinity"]}, "2.64")]:
        fault(n("POST", "/os-server-groups", {"server_group": body}, version=ver), 400)
    ok(n("POST", "/os-server-groups", {"server_group": {"name": uniq("g"), "policies": ["soft-affinity"]}},
         version="2.15"))
    mine = {x["id"] for x in ok(n("GET", "/os-server-groups"))["server_groups"]}
    assert {g["id"], r["id"]} <= mine
    assert len(ok(n("GET", "/os-server-groups", limit=1))["server_groups"]) == 1
    assert len(ok(n("GET", "/os-server-groups", offset=1))["server_groups"]) == len(mine) - 1
    # other projects neither list nor touch them; admins list them with all_projects
    assert not {x["id"] for x in ok(other["nova"]("GET", "/os-server-groups"))["server_groups"]} & mine
    fault(other["nova"]("GET", f"/os-server-groups/{g['id']}"), 403)
    fault(other["nova"]("DELETE", f"/os-server-groups/{g['id']}"), 403)
    assert mine <= {x["id"] for x in ok(nova("GET", "/os-server-groups", all_projects="1"))["server_groups"]}
    assert not mine & {x["id"] for x in ok(nova("GET", "/os-server-groups"))["server_groups"]}
    names = [x["Name"] for x in cloud.cli_json("server", "group", "list", "--all-projects")]
    assert g["name"] in names
    for x in mine:
        ok(n("DELETE", f"/os-server-groups/{x}"), 204)
    fault(n("GET", f"/os-server-groups/{g['id']}"), 404)
    fault(n("DELETE", f"/os-server-groups/{g['id']}"), 404)


def test_server_group_cli(cloud):
    name = uniq("grp")
    g = cloud.cli_json("--os-compute-api-version", "2.64", "server", "group", "create", "--policy",
                       "soft-anti-affinity", name)
    assert g["policy"] == "soft-anti-affinity"
    assert cloud.cli_json("server", "group", "show", name)["id"] == g["id"]
    cloud.cli("server", "group", "delete", name, check=True)


def test_extensions(nova, member):
    exts = ok(member["nova"]("GET", "/extensions"))["extensions"]
    aliases = {e["alias"] for e in exts}
    assert {"os-keypairs", "os-flavor-access", "os-availability-zone"} <= aliases
    e = ok(nova("GET", "/extensions/os-keypairs"))["extension"]
    assert e["alias"] == "os-keypairs" and e["links"] == []
    fault(nova("GET", "/extensions/os-nothing"), 404)


def test_microversion_range(nova):
    fault(nova("GET", "/flavors", version="2.80"), 406)
    assert nova("GET", "/flavors", version="2.79").headers[MV] == "compute 2.79"
