"""A compute host on "another machine": `monostack compute --controller URL` working for a
controller (`monostack up` with [compute] driver = none, so every host is remote) over the
/compute/agent/v1 protocol. The agent runs the fake driver with two hosts, its own data dir and
the credentials of a user with the service role in the service project. Checks registration
(services, hypervisors, placement), a server's life on a remote host, the console log fetched
from the agent's own listener, heartbeats (kill the agent: its services go down; restart it:
they come back and the server is still ACTIVE), snapshots streamed back, and that the agent
endpoints refuse project members."""

import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import REPO, clean_env, qcow2_file, scratch_db, start_cloud, stop_cloud, uniq

import os

SERVICE_DOWN_TIME = 3
BIN = Path(os.environ.get("MONOSTACK_BIN", REPO / "build" / "monostack"))


class Agent:
    """One `monostack compute` process (started and stopped by its PID only)."""

    def __init__(self, tmp, controller_url, username, password, prefix):
        self.tmp = Path(tmp)
        self.controller_url = controller_url
        self.prefix = prefix
        self.config = self.tmp / "agent.conf"
        self.config.write_text(
            "[compute]\n"
            "driver = fake\n"
            "fake_hosts = 2\n"
            f"fake_host_prefix = {prefix}\n"
            "report_interval = 1\n"
            "[agent]\n"
            f"username = {username}\n"
            f"password = {password}\n"
            "project_name = service\n"
            "listen = 127.0.0.1:0\n")
        self.proc = None
        self.runs = 0
        self.url = None

    @property
    def hosts(self):
        return {f"{self.prefix}-1", f"{self.prefix}-2"}

    def log_path(self):
        return self.tmp / f"agent-{self.runs}.log"

    def start(self):
        self.runs += 1
        with open(self.log_path(), "wb") as log:
            self.proc = subprocess.Popen(
                [str(BIN), "compute", "--controller", self.controller_url,
                 "--data-dir", str(self.tmp / "data"), "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp,
                env=clean_env())
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            text = self.log_path().read_text(errors="replace")
            m = re.search(r"the controller reaches it at (\S+)\)", text)
            if m and "working for the controller" in text:
                self.url = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"monostack compute did not start:\n{self.log_tail()}", pytrace=False)

    def stop(self):
        """SIGTERM; requires a clean exit."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                assert self.proc.wait(timeout=15) == 0, self.log_tail()
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"monostack compute ignored SIGTERM\n{self.log_tail()}", pytrace=False)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path().read_text(errors="replace").splitlines()[-lines:])
        except OSError as e:
            return f"(no agent log: {e})"


@pytest.fixture(scope="module")
def controller(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("controller"),
                    {"compute": {"driver": "none", "report_interval": 1,
                                 "service_down_time": SERVICE_DOWN_TIME}},
                    db=scratch_db())
    try:
        yield c
    finally:
        stop_cloud(c)


@pytest.fixture(scope="module")
def ctl_admin(controller):
    return controller.conn()


@pytest.fixture(scope="module")
def agent(controller, ctl_admin, tmp_path_factory):
    """The agent's user (service role in the service project) and the running agent."""
    ident = ctl_admin.identity
    service = ident.find_project("service", domain_id="default", ignore_missing=False)
    password = "pw-" + uuid.uuid4().hex
    user = ident.create_user(name=uniq("nova-agent"), password=password, domain_id="default",
                             default_project_id=service.id)
    ident.assign_project_role_to_user(service, user, ident.find_role("service"))
    a = Agent(tmp_path_factory.mktemp("agent"), controller.url, user.name, password,
              "rhost-" + uuid.uuid4().hex[:6])
    a.start()
    wait_services(controller, a.hosts, "up")
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture(scope="module")
def image_id(ctl_admin, tmp_path_factory):
    data = qcow2_file(tmp_path_factory.mktemp("img") / "remote.qcow2", 1 << 20)
    img = ctl_admin.image.create_image(name=uniq("remote-img"), disk_format="qcow2",
                                       container_format="bare", visibility="public", data=data)
    return img.id


def compute_services(controller):
    rows = controller.cli_json("compute", "service", "list", "--service", "nova-compute")
    return {r["Host"]: r for r in rows}


def wait_services(controller, hosts, state, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        rows = compute_services(controller)
        if all(h in rows and rows[h]["State"] == state for h in hosts):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"services {sorted(hosts)} not {state}: {rows}")
        time.sleep(0.5)


def wait_status(controller, server_id, status, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        s = controller.cli_json("server", "show", server_id)
        if s["status"] == status:
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"server {server_id} not {status}: {s['status']}")
        time.sleep(0.5)


def create_server(controller, image_id):
    return controller.cli_json("server", "create", "--wait", "--flavor", "m1.nano",
                               "--image", image_id, "--nic", "none", uniq("remote-srv"),
                               timeout=180)


def test_hosts_registered(controller, ctl_admin, agent):
    rows = wait_services(controller, agent.hosts, "up")
    assert all(rows[h]["Zone"] == "nova" for h in agent.hosts)
    hyps = {h["Hypervisor Hostname"] for h in controller.cli_json("hypervisor", "list")}
    assert agent.hosts <= hyps
    rps = {p["name"] for p in controller.cli_json("resource", "provider", "list")}
    assert agent.hosts <= rps


def test_server_life_on_remote_host(controller, agent, image_id):
    server = create_server(controller, image_id)
    try:
        assert server["status"] == "ACTIVE", server
        shown = controller.cli_json("server", "show", server["id"])
        assert shown["OS-EXT-SRV-ATTR:host"] in agent.hosts
        # the console log comes from the agent's host through the controller
        log = controller.cli("console", "log", "show", server["id"], check=True).stdout
        assert f"booting {server['name']}" in log, log
        controller.cli("server", "stop", server["id"], check=True)
        wait_status(controller, server["id"], "SHUTOFF")
        controller.cli("server", "start", server["id"], check=True)
        wait_status(controller, server["id"], "ACTIVE")
    finally:
        controller.cli("server", "delete", "--wait", server["id"], check=True, timeout=120)
    assert controller.cli("server", "show", server["id"]).returncode != 0


def test_snapshot_streams_back(controller, ctl_admin, agent, image_id):
    server = create_server(controller, image_id)
    try:
        name = uniq("remote-snap")
        controller.cli("server", "image", "create", "--wait", "--name", name, server["id"],
                       check=True, timeout=120)
        img = ctl_admin.image.find_image(name, ignore_missing=False)
        assert img.status == "active"
        assert img.size and img.size > 0
        ctl_admin.image.delete_image(img.id)
    finally:
        controller.cli("server", "delete", "--wait", server["id"], check=True, timeout=120)


def test_agent_death_and_restart(controller, agent, image_id):
    server = create_server(controller, image_id)
    try:
        assert server["status"] == "ACTIVE"
        agent.kill()
        t0 = time.monotonic()
        wait_services(controller, agent.hosts, "down", timeout=SERVICE_DOWN_TIME + 15)
        assert time.monotonic() - t0 >= SERVICE_DOWN_TIME - 1.5
        agent.start()
        wait_services(controller, agent.hosts, "up")
        assert controller.cli_json("server", "show", server["id"])["status"] == "ACTIVE"
        # reconciled: the guest is there again and obeys
        log = controller.cli("console", "log", "show", server["id"], check=True).stdout
        assert server["name"] in log
        controller.cli("server", "stop", server["id"], check=True)
        wait_status(controller, server["id"], "SHUTOFF")
    finally:
        controller.cli("server", "delete", "--wait", server["id"], check=True, timeout=120)


def test_agent_endpoints_refuse_members(controller, ctl_admin, agent):
    project = ctl_admin.identity.create_project(name=uniq("rproj"), domain_id="default")
    password = "pw-" + uuid.uuid4().hex
    user = ctl_admin.identity.create_user(name=uniq("ruser"), password=password,
                                          domain_id="default", default_project_id=project.id)
    ctl_admin.identity.assign_project_role_to_user(project, user,
                                                   ctl_admin.identity.find_role("member"))
    try:
        token = controller.conn(username=user.name, password=password,
                                project_name=project.name).auth_token
        base = controller.url + "/compute/agent/v1"
        for method, path, body in [
                ("POST", "/heartbeat", {"hosts": sorted(agent.hosts)}),
                ("POST", "/fetch", {"hosts": sorted(agent.hosts)}),
                ("POST", "/register", {"hosts": []}),
                ("GET", f"/images/{uuid.uuid4()}", None)]:
            r = requests.request(method, base + path, json=body, timeout=30,
                                 headers={"X-Auth-Token": token})
            assert r.status_code == 403, (path, r.status_code, r.text)
            assert "monostack:compute-agent" in r.json()["forbidden"]["message"]
        r = requests.post(base + "/heartbeat", json={"hosts": []}, timeout=30)
        assert r.status_code == 401
        # an admin passes the policy; bad input is a 400, not a 500
        r = requests.post(base + "/fetch", json={"hosts": "x"}, timeout=30,
                          headers={"X-Auth-Token": ctl_admin.auth_token})
        assert r.status_code == 400, r.text
    finally:
        ctl_admin.identity.delete_user(user)
        ctl_admin.identity.delete_project(project)


def test_agent_listener_requires_the_secret(agent):
    url = f"{agent.url}/agent-host/v1/instances/{uuid.uuid4()}/console"
    assert requests.get(url, timeout=10).status_code == 401
    r = requests.get(url, timeout=10, headers={"X-Monostack-Agent-Secret": "0" * 64})
    assert r.status_code == 401
