"""pytest fixtures for the monostack API tests.

Run with the Debian Python (the OpenStack clients are Debian packages):

    /usr/bin/python3 -m pytest tests/api

Environment:
    MONOSTACK_BIN      the binary to test (default: <repo>/build/monostack)
    MONOSTACK_TEST_DB  database URL for [database] connection (default: the binary's SQLite)

The session fixture `cloud` starts one `monostack up` on a free loopback port in a temporary
directory, waits until GET /identity/v3 answers 200, and at the end stops it with SIGTERM and
checks that it exited 0. The server's stdout+stderr go to <tmp>/monostack.log; its tail is
attached to every failed test's report.
"""

import json
import os
import secrets
import shutil
import signal
import socket
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

    def log_tail(self, lines=60):
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError as e:
            return f"(no server log: {e})"
        return "\n".join(text.splitlines()[-lines:])


def _write_config(path, db):
    lines = []
    if db:
        lines += ["[database]", f"connection = {db}", ""]
    lines += [
        "[security_compliance]",
        f"lockout_failure_attempts = {LOCKOUT_FAILURE_ATTEMPTS}",
        f"lockout_duration = {LOCKOUT_DURATION}",
        "",
    ]
    Path(path).write_text("\n".join(lines))


def _ready(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    global _running
    binary = Path(os.environ.get("MONOSTACK_BIN", REPO / "build" / "monostack"))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"monostack binary not found or not executable: {binary} (run `make`)",
                    pytrace=False)

    tmp = tmp_path_factory.mktemp("monostack")
    port = free_port()
    password = "pw-" + secrets.token_hex(12)
    config = tmp / "monostack.conf"
    _write_config(config, os.environ.get("MONOSTACK_TEST_DB", "").strip())
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

    _running = c
    try:
        yield c
    finally:
        _running = None
        # Stop exactly the process we started and require a clean exit.
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
