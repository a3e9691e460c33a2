"""Smoke tests: the server answers version discovery, and both clients can get a token."""

import requests


def test_identity_version_discovery(cloud):
    r = requests.get(f"{cloud.url}/identity", allow_redirects=False, timeout=10)
    assert r.status_code == 300, r.text
    values = r.json()["versions"]["values"]
    v3 = [v for v in values if v["id"].startswith("v3")]
    assert v3, values
    assert v3[0]["status"] == "stable"
    hrefs = [link["href"].rstrip("/") for link in v3[0]["links"] if link["rel"] == "self"]
    assert hrefs == [cloud.auth_url]


def test_identity_v3_root(cloud):
    r = requests.get(cloud.auth_url, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["version"]["id"].startswith("v3")


def test_cli_token_issue(cloud):
    token = cloud.cli_json("token", "issue")
    assert token["id"]
    assert token["user_id"]
    assert token["project_id"]
    assert token["expires"]


def test_sdk_admin_token(cloud):
    conn = cloud.conn()
    assert conn.authorize()
    assert conn.current_project_id
    assert conn.current_user_id
