#!/usr/bin/env bash
# The HTTP API against its own OpenAPI 3.1 description, with schemathesis, on a running broker
# (scripts/e2e starts one). schemathesis generates requests for every operation (examples,
# coverage, fuzzing and stateful phases) and runs every check: no 5xx, status codes, content
# types, headers and bodies as documented, invalid input refused, valid input accepted, 405
# with Allow for other methods, auth not ignored, deleted resources gone, ... Any failure fails.
#
# Two passes, logged in through the API (curl) for a bearer token each:
#   1. as the user (E2E_USER), while the pools of the other tests exist: the user endpoints
#      reach real pools (a desktop, sessions, logoff); the admin ones must answer 403.
#   2. as the admin (E2E_ADMIN), after every pool was deleted (DELETE, drained): admin
#      operations run with generated data (create, PUT and scale pools, publish a version by
#      upload, DELETE version ...). The examples' template, tiny-linux, exists for this pass
#      with a version uploaded through the API and 1 TiB of memory: generated pools are
#      accepted, yet no host has room for one of their desktops, so no guest boots (an earlier
#      run with the real pools in place scaled one to dozens of TCG guests).
# Destructive on purpose: run it on a test broker, last (its fuzzed logins also make the login
# throttle lock out 127.0.0.1 for a while).
#
# Environment: DESKPOOL_URL, E2E_USER, E2E_PASSWORD, E2E_ADMIN, E2E_ADMIN_PASSWORD,
# E2E_ARTIFACTS (reports), E2E_VENV (default /opt/deskpool-test-venv),
# E2E_SCHEMATHESIS_EXAMPLES (per operation and pass, default 30), E2E_SCHEMATHESIS_SEED (to
# repeat a run; schemathesis prints the seed it used), E2E_SCHEMA (a schema file instead of
# the broker's /api/v1/openapi.json). The number of examples bounds the run (scripts/e2e also
# gives it a time limit); --max-time is not used: in schemathesis 4 it makes fuzzing go on
# until the time is spent.
set -euo pipefail

url=${DESKPOOL_URL:?}
venv=${E2E_VENV:-/opt/deskpool-test-venv}
artifacts=${E2E_ARTIFACTS:-$(mktemp -d)}
mkdir -p "$artifacts"
examples=${E2E_SCHEMATHESIS_EXAMPLES:-30}
python=$venv/bin/python

# POST /api/v1/auth/login; prints the token.
login() {
  local body answer status
  body=$("$python" -c 'import json, sys; print(json.dumps({"user": sys.argv[1], "password": sys.argv[2]}))' "$1" "$2")
  answer=$(curl -sS --max-time 30 -w '\n%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @- "$url/api/v1/auth/login" <<<"$body")
  status=${answer##*$'\n'}
  [ "$status" = 200 ] || { echo "schemathesis: login as $1 answered $status: ${answer%$'\n'*}" >&2; return 1; }
  "$python" -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"${answer%$'\n'*}"
}

curl -fsS --max-time 30 "$url/api/v1/openapi.json" -o "$artifacts/openapi.json" \
  || { echo "schemathesis: GET /api/v1/openapi.json failed" >&2; exit 1; }
schema=${E2E_SCHEMA:-$url/api/v1/openapi.json}

# Every check runs: schemathesis 4 enables all of its checks unless told otherwise, and the
# .toml turns single checks off for single operations. No --checks on the command line: its
# `all` overrides the per-operation exceptions (a DELETEd desktop still `deleting` then failed
# use_after_free although the .toml says why it is not a bug). The preflight below fails if a
# check is off anywhere the .toml does not say. Left out, and why:
# - POST /api/v1/auth/logout: it would end the session that authenticates every other request
#   of the pass (the token is a session), so the rest would only see 401s.
# Exceptions for single operations, each with its reason: Tests/e2e/schemathesis.toml.
# One worker: hypothesis' lambda descriptions (ast.parse) are not thread-safe on Python 3.11;
# two workers gave "AST constructor recursion depth mismatch" runtime errors.
run_pass() {
  local name=$1 token=$2
  echo "schemathesis: pass '$name'"
  mkdir -p "$artifacts/$name"
  "$venv/bin/schemathesis" --config-file "$(dirname "$0")/schemathesis.toml" run "$schema" \
    --url "$url" \
    --header "Authorization: Bearer $token" \
    --exclude-path /api/v1/auth/logout \
    --max-examples "$examples" \
    --workers 1 \
    ${E2E_SCHEMATHESIS_SEED:+--seed "$E2E_SCHEMATHESIS_SEED"} \
    --request-timeout 30 \
    --generation-database none \
    --no-color \
    --report junit,ndjson --report-dir "$artifacts/$name"
}

"$python" "$(dirname "$0")/schemathesis_checks.py" "$(dirname "$0")/schemathesis.toml" "$artifacts/openapi.json" \
  || { echo "schemathesis: the checks are not what schemathesis.toml says (above)" >&2; exit 1; }

status=0
user_token=$(login "${E2E_USER:?}" "${E2E_PASSWORD:?}")
admin_token=$(login "${E2E_ADMIN:?}" "${E2E_ADMIN_PASSWORD:?}")
echo "schemathesis: logged in as $E2E_USER and $E2E_ADMIN"
run_pass user "$user_token" || status=1

# Delete every pool: they drain, so no generated scale or spec can grow them afterwards.
pools=$(curl -fsS --max-time 30 -H "Authorization: Bearer $admin_token" "$url/api/v1/admin/pools" \
  | "$python" -c 'import json, sys; print(" ".join(p.get("name") or p["spec"]["name"] for p in json.load(sys.stdin)))')
for pool in $pools; do
  code=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $admin_token" "$url/api/v1/admin/pools/$pool")
  [ "$code" = 202 ] || { echo "schemathesis: DELETE /api/v1/admin/pools/$pool answered $code, not 202" >&2; status=1; }
done
echo "schemathesis: deleted the pools ${pools:-(none)}"

# Successful admin writes, not only refusals: the documents' examples name the template
# tiny-linux, so it exists for this pass, with a published version uploaded through the API
# (a blank raw disk), and with the largest memory a template may have (1 TiB), so that pools
# made or scaled from generated data are accepted (201/200) yet no host ever has room for one
# of their desktops: nothing boots.
template_body=$("$python" -c 'import json, sys; print(json.dumps({"vcpus": 1, "memoryMiB": 1048576, "machine": "pc", "domainXML": open(sys.argv[1]).read()}))' \
  "$(dirname "$0")/../../templates/tiny-linux/domain.xml")
code=$(curl -sS --max-time 30 -o "$artifacts/template.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $admin_token" \
  -H 'Content-Type: application/json' --data-binary @- "$url/api/v1/admin/templates/tiny-linux" <<<"$template_body")
[ "$code" = 200 ] || { echo "schemathesis: PUT template tiny-linux answered $code: $(cat "$artifacts/template.json")" >&2; status=1; }
head -c $((1 << 20)) /dev/zero >"$artifacts/blank.raw"
code=$(curl -sS --max-time 60 -o "$artifacts/version.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $admin_token" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$artifacts/blank.raw" \
  "$url/api/v1/admin/templates/tiny-linux/versions?note=schemathesis")
[ "$code" = 201 ] || { echo "schemathesis: uploading a version of tiny-linux answered $code: $(cat "$artifacts/version.json")" >&2; status=1; }
echo "schemathesis: template tiny-linux (1 TiB of memory: never placed) with an uploaded version"
run_pass admin "$admin_token" || status=1
exit $status
