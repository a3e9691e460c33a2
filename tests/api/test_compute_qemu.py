"""Compute with the real qemu driver: the tiny guest (tests/images/build-tiny.sh: Debian's cloud
kernel and a busybox initramfs) booted through the `openstack` CLI, its console showing the
marker line and its name from the config drive, and every power action changing the real QEMU
process (found through the instance's pidfile and checked in /proc). One guest at a time; the
module's cloud is stopped (and any guest of it killed by its own pid) at the end."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, scratch_db, start_cloud, stop_cloud

BOOT_TIMEOUT = 60          # FACTS.md: ~5 s under TCG here, 30 s allowance; doubled for load
MARKER = "monostack-tiny: booted"

pytestmark = pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                                reason="qemu-system-x86_64 is not installed (scripts/deps.sh installs it)")


@pytest.fixture(scope="module")
def tiny_dir():
    out = REPO / "build" / "tiny"
    cp = subprocess.run([str(REPO / "tests" / "images" / "build-tiny.sh"), str(out)],
                        capture_output=True, text=True, timeout=600)
    if cp.returncode != 0:
        pytest.fail(f"build-tiny.sh failed:\n{cp.stderr[-3000:]}", pytrace=False)
    return out


@pytest.fixture(scope="module")
def qcloud(tmp_path_factory, tiny_dir):
    c = start_cloud(tmp_path_factory.mktemp("qemu"),
                    {"compute": {"driver": "qemu"}, "image": {"tiny_image_dir": str(tiny_dir)}},
                    db=scratch_db())
    try:
        yield c
    finally:
        pids = [p for p in guest_pids(c).values()]
        stop_cloud(c)
        for pid in pids:                      # guests outlive the server by design: ours go
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def guest_pids(c):
    """uuid -> pid of every QEMU process of this cloud that is alive."""
    out = {}
    inst = c.data_dir / "instances"
    for d in inst.iterdir() if inst.is_dir() else []:
        pid = qemu_pid(c, d.name)
        if pid:
            out[d.name] = pid
    return out


def qemu_pid(c, uuid):
    """The pid of the server's QEMU when it is running (its pidfile names a live process whose
    command line carries the instance uuid), else None."""
    pf = c.data_dir / "instances" / uuid / "qemu.pid"
    try:
        pid = int(pf.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if uuid.encode() in cmdline and b"qemu-system" in cmdline else None


def wait_for(what, fn, timeout=BOOT_TIMEOUT, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def show(c, name):
    return c.cli_json("server", "show", name)


def wait_status(c, name, status, timeout=BOOT_TIMEOUT):
    return wait_for(f"{name} to be {status}",
                    lambda: (s := show(c, name))["status"] == status and s, timeout)


def console(c, name):
    return c.cli("console", "log", "show", name, check=True).stdout


def test_boot_console_config_drive(qcloud):
    c = qcloud
    images = {i["Name"] for i in c.cli_json("image", "list")}
    assert {"tiny", "tiny-kernel", "tiny-ramdisk"} <= images, images
    s = c.cli_json("server", "create", "--image", "tiny", "--flavor", "m1.nano", "--nic", "none",
                   "--wait", "vm-q1", timeout=BOOT_TIMEOUT + 60)
    assert s["status"] == "ACTIVE", s
    uuid = s["id"]
    assert qemu_pid(c, uuid), "no QEMU process for an ACTIVE server"
    log = wait_for("the marker line", lambda: MARKER in (t := console(c, "vm-q1")) and t)
    # the config drive: the guest prints the server's name and uuid it found there
    wait_for("the config drive line",
             lambda: f"config-drive name=vm-q1 hostname=vm-q1" in (log := console(c, "vm-q1")) and uuid in log)
    s = show(c, "vm-q1")
    assert s["OS-EXT-STS:power_state"] in (1, "Running"), s["OS-EXT-STS:power_state"]
    # no networking service yet: the guest has no NIC (and the server no address)
    assert "dhcp" not in console(c, "vm-q1")


def test_power_actions_change_the_process(qcloud):
    c = qcloud
    uuid = show(c, "vm-q1")["id"]
    pid = qemu_pid(c, uuid)
    assert pid

    c.cli("server", "pause", "vm-q1", check=True)
    wait_status(c, "vm-q1", "PAUSED")
    assert qemu_pid(c, uuid) == pid                     # vCPUs stopped, process kept
    c.cli("server", "unpause", "vm-q1", check=True)
    wait_status(c, "vm-q1", "ACTIVE")

    c.cli("server", "suspend", "vm-q1", check=True)
    wait_status(c, "vm-q1", "SUSPENDED")
    wait_for("QEMU to exit on suspend", lambda: qemu_pid(c, uuid) is None, 30)
    c.cli("server", "resume", "vm-q1", check=True)
    wait_status(c, "vm-q1", "ACTIVE")
    pid = wait_for("QEMU after resume", lambda: qemu_pid(c, uuid), 30)

    c.cli("server", "stop", "vm-q1", check=True)
    wait_status(c, "vm-q1", "SHUTOFF")
    wait_for("QEMU to exit on stop", lambda: qemu_pid(c, uuid) is None, 30)
    c.cli("server", "start", "vm-q1", check=True)
    wait_status(c, "vm-q1", "ACTIVE")
    pid = wait_for("QEMU after start", lambda: qemu_pid(c, uuid), 30)

    before = console(c, "vm-q1").count(MARKER)
    c.cli("server", "reboot", "--hard", "vm-q1", check=True)
    wait_status(c, "vm-q1", "ACTIVE")
    wait_for("the guest to boot again", lambda: console(c, "vm-q1").count(MARKER) > before)


def test_snapshot_and_delete(qcloud):
    c = qcloud
    uuid = show(c, "vm-q1")["id"]
    img = c.cli_json("server", "image", "create", "--name", "vm-q1-snap", "--wait", "vm-q1",
                     timeout=300)
    assert img["status"] == "active" and img["disk_format"] == "qcow2", img
    assert int(img["size"]) > 0
    wait_status(c, "vm-q1", "ACTIVE")                  # the guest goes on running
    assert qemu_pid(c, uuid)
    c.cli("server", "delete", "--wait", "vm-q1", check=True, timeout=120)
    wait_for("QEMU to exit on delete", lambda: qemu_pid(c, uuid) is None, 30)
    assert not (c.data_dir / "instances" / uuid).exists()
    c.cli("image", "delete", "vm-q1-snap", check=True)
