"""The broker's HTTP API as the Python tiers and the soak driver call it: one request per
fresh connection, and a login."""

import http.client
import json


def request(base, method, path, body=None, token=None, timeout=30, headers=None):
    """One request to `base` (a urllib.parse.SplitResult) on a fresh connection, with
    `headers` added (e.g. Accept, Cookie): (status, headers with lower-case names, body);
    status 0 on a connection error or timeout. Redirects are not followed."""
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=timeout)
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    except (OSError, http.client.HTTPException) as error:
        return 0, {}, str(error).encode()
    finally:
        connection.close()


def login(base, user, password, who="e2e"):
    """The API token of `user`; exits naming `who` when the login fails."""
    status, _, body = request(base, "POST", "/api/v1/auth/login", {"user": user, "password": password})
    if status != 200:
        raise SystemExit(f"{who}: cannot log in as {user} on {base.geturl()}: {status} {body[:200]!r}")
    return json.loads(body)["token"]
