"""pytest fixtures for the monostack API tests.

Run with the Debian Python (the OpenStack clients are Debian packages):

    /usr/bin/python3 -m pytest tests/api

Environment:
    MONOSTACK_BIN      the binary to test (default: <repo>/build/monostack)
    MONOSTACK_TEST_DB  database URL for [database] connection (default: the binary's SQLite)

The session fixture `cloud` starts one `monostack up` on a free loopback port in a temporary
directory, waits until GET /identity/v3 answers 200, and at the end stops it with SIGTERM and
checks that it exited 0. The server's stdout+stderr go to <tmp>/monostack.log; its tail is
attached to every failed test's report. Tests that need other server settings (e.g. image quotas)
start their own with start_cloud(tmp, extra_config) and stop it with stop_cloud().

Every server started here runs the compute service with the fake virt driver and FAKE_HOSTS
simulated hosts (DEFAULT_CONFIG), never real guests; a test that wants others passes them in
extra_config, e.g. start_cloud(tmp, {"compute": {"fake_hosts": 3}}) or
{"compute": {"driver": "qemu"}}.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
OPENSTACK_CLI = "/usr/bin/openstack"
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0

# Server settings the tests rely on (lockout tests use these numbers).
LOCKOUT_FAILURE_ATTEMPTS = 3
LOCKOUT_DURATION = 5
# Compute: the fake virt driver with this many hosts, unless a test's extra_config says otherwise.
FAKE_HOSTS = 2
DEFAULT_CONFIG = {"compute": {"driver": "fake", "fake_hosts": FAKE_HOSTS}}

_running = None  # the Cloud of this session, for the failure-report hook


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    """os.environ without OS_* client settings and MONOSTACK_DB, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OS_") and k != "MONOSTACK_DB"}
    env.update(extra)
    return env


class Cloud:
    """A running monostack and helpers to talk to it."""

    def __init__(self, tmp, port, admin_password, proc, log_path):
        self.tmp = Path(tmp)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.auth_url = f"{self.url}/identity/v3"
        self.admin_password = admin_password
        self.data_dir = self.tmp / "data"
        self.clouds_yaml = self.data_dir / "clouds.yaml"
        self.config_file = self.tmp / "monostack.conf"
        self.proc = proc
        self.pid = proc.pid
        self.log_path = log_path
        self.lockout_failure_attempts = LOCKOUT_FAILURE_ATTEMPTS
        self.lockout_duration = LOCKOUT_DURATION

    # -- Python SDK ---------------------------------------------------------------------------
    def conn(self, username="admin", password=None, project_name="admin",
             user_domain_name="Default", project_domain_name="Default", **auth):
        """An openstack.connection.Connection (admin by default), not read from clouds.yaml."""
        import openstack

        a = {
            "auth_url": self.auth_url,
            "username": username,
            "password": self.admin_password if password is None else password,
            "user_domain_name": user_domain_name,
        }
        if project_name is not None:
            a["project_name"] = project_name
            a["project_domain_name"] = project_domain_name
        a.update(auth)
        return openstack.connect(
            load_yaml_config=False,
            load_envvars=False,
            auth_type="password",
            auth=a,
            interface="public",
            identity_api_version="3",
        )

    # -- openstack CLI ------------------------------------------------------------------------
    def cli(self, *args, check=False, timeout=120, env=None):
        """Run `openstack --os-cloud monostack ARGS` with the clouds.yaml the server wrote.

        Returns subprocess.CompletedProcess (text). check=True raises with the CLI's stderr.
        """
        cmd = [OPENSTACK_CLI, "--os-cloud", "monostack", *map(str, args)]
        cp = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            env=clean_env(OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml), **(env or {})),
        )
        if check and cp.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {cp.returncode}\n"
                f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")
        return cp

    def cli_json(self, *args, **kw):
        """cli(*args, '-f', 'json') parsed; fails (with the CLI's stderr) if it exits non-zero."""
        cp = self.cli(*args, "-f", "json", check=True, **kw)
        try:
            return json.loads(cp.stdout)
        except ValueError as e:
            raise AssertionError(f"openstack {' '.join(map(str, args))}: not JSON ({e}):\n"
                                 f"{cp.stdout}\nstderr:\n{cp.stderr}") from None

    # -- server -------------------------------------------------------------------------------
    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        """The server process's resident set size (VmRSS of /proc/PID/status), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS in /proc/{self.pid}/status")

    def log_tail(self, lines=60):
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError as e:
            return f"(no server log: {e})"
        return "\n".join(text.splitlines()[-lines:])


def merged_config(extra=None):
    """DEFAULT_CONFIG overridden option by option by extra ({section: {option: value}})."""
    out = {sec: dict(opts) for sec, opts in DEFAULT_CONFIG.items()}
    for section, opts in (extra or {}).items():
        out.setdefault(section, {}).update(opts)
    return out


def _write_config(path, db, extra=None):
    """The server's config file; extra is {section: {option: value}} (not database or
    security_compliance, which are always written here), merged over DEFAULT_CONFIG."""
    lines = []
    if db:
        lines += ["[database]", f"connection = {db}", ""]
    lines += [
        "[security_compliance]",
        f"lockout_failure_attempts = {LOCKOUT_FAILURE_ATTEMPTS}",
        f"lockout_duration = {LOCKOUT_DURATION}",
        "",
    ]
    for section, opts in merged_config(extra).items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in opts.items()]
        lines.append("")
    Path(path).write_text("\n".join(lines))


def _ready(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_cloud(tmp, extra_config=None, db=None):
    """Starts `monostack up` in directory tmp on a free port (database db, default
    MONOSTACK_TEST_DB; a second server needs its own, see scratch_db(); extra_config as for
    _write_config) and waits until it answers. Returns the Cloud; fails the test if the server
    does not come up."""
    binary = Path(os.environ.get("MONOSTACK_BIN", REPO / "build" / "monostack"))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"monostack binary not found or not executable: {binary} (run `make`)",
                    pytrace=False)

    tmp = Path(tmp)
    port = free_port()
    password = "pw-" + secrets.token_hex(12)
    config = tmp / "monostack.conf"
    if db is None:
        db = os.environ.get("MONOSTACK_TEST_DB", "").strip()
    _write_config(config, db, extra_config)
    log_path = tmp / "monostack.log"
    cmd = [str(binary), "up",
           "--data-dir", str(tmp / "data"),
           "--bind", f"127.0.0.1:{port}",
           "--admin-password", password,
           "--no-user-config",
           "--config", str(config)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=tmp, env=clean_env())
    c = Cloud(tmp, port, password, proc, log_path)

    deadline = time.monotonic() + READY_TIMEOUT
    while not _ready(c.auth_url):
        if proc.poll() is not None:
            pytest.fail(f"monostack exited {proc.returncode} before it was ready\n"
                        f"command: {' '.join(cmd)}\n--- {log_path} ---\n{c.log_tail()}",
                        pytrace=False)
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"monostack not ready at {c.auth_url} after {READY_TIMEOUT:.0f} s\n"
                        f"command: {' '.join(cmd)}\n--- {log_path} ---\n{c.log_tail()}",
                        pytrace=False)
        time.sleep(0.05)
    return c


def scratch_db():
    """A database for a second server: "" (its own SQLite) on SQLite, a new database in the
    same cluster when MONOSTACK_TEST_DB is PostgreSQL."""
    url = os.environ.get("MONOSTACK_TEST_DB", "").strip()
    if not url:
        return ""
    name = "scratch_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True, timeout=60, env=clean_env())
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def stop_cloud(c):
    """Stops exactly the process start_cloud started and requires a clean exit (status 0 on
    SIGTERM); fails the test otherwise."""
    proc, log_path = c.proc, c.log_path
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"monostack (pid {proc.pid}) did not exit within {STOP_TIMEOUT:.0f} s "
                        f"of SIGTERM\n--- {log_path} ---\n{c.log_tail()}", pytrace=False)
        if proc.returncode != 0:
            pytest.fail(f"monostack exited {proc.returncode} on SIGTERM (expected 0)\n"
                        f"--- {log_path} ---\n{c.log_tail()}", pytrace=False)
    else:
        pytest.fail(f"monostack died during the tests (exit {proc.returncode})\n"
                    f"--- {log_path} ---\n{c.log_tail()}", pytrace=False)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    global _running
    c = start_cloud(tmp_path_factory.mktemp("monostack"))
    _running = c
    try:
        yield c
    finally:
        _running = None
        stop_cloud(c)


def uniq(prefix):
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Api:
    """Plain HTTP against /identity/v3 with a token, for status codes and raw bodies."""

    def __init__(self, cloud, token):
        self.base = cloud.auth_url
        self.headers = {"X-Auth-Token": token}

    def __call__(self, method, path, body=None, **params):
        return requests.request(method, self.base + path, json=body, params=params or None,
                                headers=self.headers, timeout=30)


class ImageApi:
    """Plain HTTP against the image service (/image) with a token: status codes, raw bodies,
    headers and data. body is sent as JSON, data as-is (bytes, a file or an iterator)."""

    PATCH_TYPE = "application/openstack-images-v2.1-json-patch"

    def __init__(self, cloud, token):
        self.base = cloud.url + "/image"
        self.headers = {"X-Auth-Token": token}

    def __call__(self, method, path, body=None, *, data=None, headers=None, stream=False,
                 timeout=60, **params):
        h = dict(self.headers)
        h.update(headers or {})
        return requests.request(method, self.base + path, json=body, data=data, headers=h,
                                params=params or None, stream=stream, timeout=timeout)

    def patch(self, image_id, ops, content_type=PATCH_TYPE):
        """PATCH /v2/images/ID with a JSON-patch document (a list of operations)."""
        return self("PATCH", f"/v2/images/{image_id}", data=json.dumps(ops),
                    headers={"Content-Type": content_type})

    def create(self, **attrs):
        """POST /v2/images; asserts 201 and returns the image."""
        attrs.setdefault("name", uniq("img"))
        r = self("POST", "/v2/images", attrs)
        assert r.status_code == 201, r.text
        return r.json()

    def upload(self, image_id, data, **headers):
        """PUT /v2/images/ID/file (application/octet-stream); the response."""
        h = {"Content-Type": "application/octet-stream", **headers}
        return self("PUT", f"/v2/images/{image_id}/file", data=data, headers=h)

    def delete(self, image_id):
        """DELETE /v2/images/ID, unprotecting it first; ignores an image already gone."""
        self.patch(image_id, [{"op": "replace", "path": "/protected", "value": False}])
        r = self("DELETE", f"/v2/images/{image_id}")
        assert r.status_code in (204, 404), r.text


def project_user(cloud, admin, roles=("member",)):
    """A new project and a user with `roles` on it. Returns a dict: project, user, password,
    conn (openstacksdk), image (ImageApi), cli_args (the openstack CLI options that log in as the
    user) and cleanup (a function removing both)."""
    project = admin.identity.create_project(name=uniq("iproj"), domain_id="default")
    password = "pw-" + uuid.uuid4().hex
    user = admin.identity.create_user(name=uniq("iuser"), password=password, domain_id="default",
                                      default_project_id=project.id)
    for name in roles:
        admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role(name))
    conn = cloud.conn(username=user.name, password=password, project_name=project.name)

    def cleanup():
        admin.identity.delete_user(user)
        admin.identity.delete_project(project)

    return {"project": project, "user": user, "password": password, "conn": conn,
            "image": ImageApi(cloud, conn.auth_token), "cleanup": cleanup,
            # (--os-project-id: with --os-cloud, --os-project-name does not win over the
            # clouds.yaml project)
            "cli_args": ["--os-username", user.name, "--os-password", password,
                         "--os-project-id", project.id, "--os-user-domain-name", "Default"]}


def qcow2_file(path, virtual_size):
    """Writes a qcow2 image of virtual_size bytes (qemu-img when installed, else a bare
    version-3 header of the same shape) to path; returns its bytes."""
    path = Path(path)
    if shutil.which("qemu-img"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(virtual_size)],
                       check=True, capture_output=True)
    else:
        header = struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 16, virtual_size, 0,
                             1, 3 << 16, 1 << 16, 1, 0, 0, 0, 0, 0, 4, 104)
        path.write_bytes(header.ljust(4 << 16, b"\0"))
    return path.read_bytes()


@pytest.fixture(scope="module")
def admin(cloud):
    """An admin openstacksdk Connection (project admin)."""
    return cloud.conn()


@pytest.fixture(scope="module")
def api(cloud, admin):
    """An Api client with the admin token."""
    return Api(cloud, admin.auth_token)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the tail of the server log to each failed test."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _running is not None:
        state = "running" if _running.alive() else f"exited {_running.proc.returncode}"
        rep.sections.append((f"monostack log tail ({_running.log_path}, server {state})",
                             _running.log_tail(40)))


def pytest_report_header(config):
    binary = os.environ.get("MONOSTACK_BIN", str(REPO / "build" / "monostack"))
    db = os.environ.get("MONOSTACK_TEST_DB") or "sqlite (default)"
    return [f"monostack: {binary}", f"database: {db}",
            f"openstack CLI: {shutil.which(OPENSTACK_CLI) or 'MISSING'}"]
