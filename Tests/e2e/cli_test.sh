#!/usr/bin/env bash
# The deskpool CLI end to end, against a running broker (scripts/e2e starts one):
#   an admin logs in (--password-stdin), creates a pool from a file, scales it with --wait
#   (which must print progress and return once the spares are ready) and lists it (--json);
#   a user logs in and runs `deskpool connect POOL --viewer FAKE`, where FAKE records its
#   arguments and the .vv it was given: the .vv must be a SPICE file through the gateway;
#   with --kiosk the viewer gets kiosk arguments. With a DISPLAY, a real remote-viewer run
#   through `deskpool connect` must open the console.
#   A login that PAM asks more than the password (pam_oath's one-time code): with
#   --password-stdin the code is the next line of standard input, the prompt is shown on
#   standard error; a wrong code fails and saves nothing.
#
# Environment (scripts/e2e sets it): DESKPOOL_URL, DESKPOOL_BIN, E2E_ADMIN,
# E2E_ADMIN_PASSWORD, E2E_USER, E2E_PASSWORD, E2E_TEMPLATE, E2E_GROUP (entitled to the new
# pool), E2E_NAME_PREFIX (desktop names), E2E_OTP_USER, E2E_OTP_PASSWORD, E2E_OTP_SECRET and
# E2E_OTP_STATE (for Tests/e2e/next-code), E2E_ARTIFACTS, DISPLAY (optional).
#
# The CLI's command lines are in one place below (cmd_*), to adjust when its flags move.
set -euo pipefail

url=${DESKPOOL_URL:?}
bin=${DESKPOOL_BIN:-deskpool}
pool=${E2E_CLI_POOL:-e2ecli}
artifacts=${E2E_ARTIFACTS:-$(mktemp -d)}
connect_seconds=${E2E_CONNECT_SECONDS:-420}
work=$(mktemp -d /tmp/deskpool-cli-e2e.XXXXXX)
viewer_pid_file=$work/viewer.pid
cleanup() {
  if [ -f "$viewer_pid_file" ]; then kill -KILL "$(cat "$viewer_pid_file")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Each role has its own HOME and client configuration (server + token).
export HOME=$work/home
mkdir -p "$HOME"
admin_config=$work/admin/client.json
user_config=$work/user/client.json
mkdir -p "$work/admin" "$work/user"

# -- the CLI's command lines ------------------------------------------------------------------
cmd_login()   { "$bin" login --server "$url" --user "$1" --password-stdin; }
cmd_create()  { "$bin" pools create "$1"; }
cmd_scale()   { timeout "$connect_seconds" "$bin" pools scale "$1" --spare "$2" --wait; }
cmd_list()    { "$bin" pools list --json; }
cmd_connect() { timeout "$connect_seconds" "$bin" connect "$1" --viewer "$2" "${@:3}"; }

step=0
pass() { step=$((step + 1)); echo "cli: ok   $*"; }
fail() { echo "cli: FAILED $*" >&2; exit 1; }
as_admin() { DESKPOOL_CLIENT_CONFIG=$admin_config "$@"; }
as_user() { DESKPOOL_CLIENT_CONFIG=$user_config "$@"; }
json() { /usr/bin/python3 -c "import json, sys; data = json.load(sys.stdin); $1"; }

# -- the admin ----------------------------------------------------------------------------------
if printf '%s\n' "$E2E_ADMIN_PASSWORD-wrong" | as_admin cmd_login "$E2E_ADMIN" >"$work/out" 2>&1; then
  fail "login with a wrong password succeeded: $(cat "$work/out")"
fi
pass "a wrong password is refused ($(head -c 120 "$work/out" | tr '\n' ' '))"
sleep 2.5   # the login throttle's backoff after that failure

printf '%s\n' "$E2E_ADMIN_PASSWORD" | as_admin cmd_login "$E2E_ADMIN" >"$work/out" 2>&1 \
  || fail "admin login: $(cat "$work/out")"
[ -s "$admin_config" ] || fail "login wrote no $admin_config"
mode=$(stat -c %a "$admin_config")
[ "$mode" = 600 ] || fail "$admin_config holds a session token but has mode $mode, not 600"
grep -q "$url" "$admin_config" || fail "$admin_config does not name the server $url"
pass "admin login saves the server and a token (mode 600)"

cat >"$work/pool.yaml" <<EOF
name: $pool
template: ${E2E_TEMPLATE:-tiny-linux}
assignment: floating
min: 0
max: 2
spare: 0
naming: "${E2E_NAME_PREFIX:-e2e-}cli-{n:02}"
groups: [${E2E_GROUP:?}]
maxPerUser: 1
EOF
as_admin cmd_create "$work/pool.yaml" >"$work/out" 2>&1 || fail "pools create: $(cat "$work/out")"
pass "pools create $pool"
if as_admin cmd_create "$work/pool.yaml" >"$work/out" 2>&1; then fail "creating $pool twice succeeded"; fi
pass "creating it again is refused ($(head -c 120 "$work/out" | tr '\n' ' '))"

started=$SECONDS
as_admin cmd_scale "$pool" 1 >"$work/scale.out" 2>&1 \
  || fail "pools scale --wait (after $((SECONDS - started)) s): $(cat "$work/scale.out")"
cp "$work/scale.out" "$artifacts/scale.out"
lines=$(grep -c . "$work/scale.out" || true)
[ "$lines" -ge 2 ] || fail "pools scale --wait printed no progress (${lines} line(s)): $(cat "$work/scale.out")"
as_admin cmd_list >"$work/pools.json" || fail "pools list --json"
ready=$(json "
pools = [p for p in data if (p.get('name') or p.get('spec', {}).get('name')) == '$pool']
print(pools[0]['capacity']['ready'] if pools else -1)" <"$work/pools.json")
[ "$ready" -ge 1 ] || fail "after scale --wait, pools list --json shows $ready ready in $pool: $(cat "$work/pools.json")"
pass "pools scale --spare 1 --wait returned with $ready ready after $((SECONDS - started)) s, $lines lines of progress"

# -- the user -----------------------------------------------------------------------------------
printf '%s\n' "$E2E_PASSWORD" | as_user cmd_login "$E2E_USER" >"$work/out" 2>&1 || fail "user login: $(cat "$work/out")"
as_user "$bin" whoami >"$work/out" 2>&1 || fail "whoami: $(cat "$work/out")"
grep -q "$E2E_USER" "$work/out" || fail "whoami does not name $E2E_USER: $(cat "$work/out")"
as_user "$bin" pools list --mine >"$work/out" 2>&1 || fail "pools list --mine: $(cat "$work/out")"
grep -q "$pool" "$work/out" || fail "pools list --mine does not show $pool: $(cat "$work/out")"
if as_user "$bin" pools list >"$work/out" 2>&1; then fail "a non-admin got the admin pool list: $(cat "$work/out")"; fi
pass "user login; whoami, pools list --mine; the admin list is refused ($(head -c 100 "$work/out" | tr '\n' ' '))"

# -- a login that asks a one-time code after the password (pam_unix, then pam_oath) -------------
next_code=$(dirname "$0")/next-code
otp_config=$work/otp/client.json
mkdir -p "$work/otp" "$work/otp-wrong"
# A code no time step near now has (pam_oath's window is 10 steps): surely refused.
surely_wrong_code() {
  local valid code=0
  valid=$(oathtool --totp --window 100 --now "@$(( $(date +%s) - 40 * 30 ))" "${E2E_OTP_SECRET:?}")
  while grep -qx "$(printf '%06d' "$code")" <<<"$valid"; do code=$((code + 1)); done
  printf '%06d\n' "$code"
}
code=$("$next_code") || fail "Tests/e2e/next-code failed"
printf '%s\n%s\n' "${E2E_OTP_PASSWORD:?}" "$code" \
  | DESKPOOL_CLIENT_CONFIG=$otp_config cmd_login "${E2E_OTP_USER:?}" >"$work/out" 2>"$work/err" \
  || fail "login answering the one-time code on stdin: $(cat "$work/out" "$work/err")"
grep -q "logged in to .* as $E2E_OTP_USER" "$work/out" \
  || fail "the login did not say 'logged in to ... as $E2E_OTP_USER': $(cat "$work/out" "$work/err")"
grep -qi 'one-time password' "$work/err" || fail "the login did not show pam_oath's prompt on stderr: $(cat "$work/err")"
if grep -qF -- "$E2E_OTP_PASSWORD" "$work/out" "$work/err" || grep -qw -- "$code" "$work/out" "$work/err"; then
  fail "the login printed the password or the code: $(cat "$work/out" "$work/err")"
fi
[ "$(stat -c %a "$otp_config")" = 600 ] || fail "$otp_config is not mode 600"
DESKPOOL_CLIENT_CONFIG=$otp_config "$bin" whoami >"$work/out" 2>&1 || fail "whoami after the code login: $(cat "$work/out")"
grep -q "$E2E_OTP_USER" "$work/out" || fail "whoami does not name $E2E_OTP_USER: $(cat "$work/out")"
pass "login with password and one-time code on stdin (the prompt on stderr); whoami names $E2E_OTP_USER"

wrong=$(surely_wrong_code)
if printf '%s\n%s\n' "$E2E_OTP_PASSWORD" "$wrong" \
   | DESKPOOL_CLIENT_CONFIG=$work/otp-wrong/client.json cmd_login "$E2E_OTP_USER" >"$work/out" 2>&1; then
  fail "a login with a wrong code succeeded: $(cat "$work/out")"
fi
[ ! -e "$work/otp-wrong/client.json" ] || fail "a login refused at the code saved a session: $(cat "$work/otp-wrong/client.json")"
pass "a wrong code fails the login, nothing saved ($(head -c 120 "$work/out" | tr '\n' ' '))"

# A viewer that records what it was given (the .vv goes away after it: copy it).
cat >"$work/fake-viewer" <<EOF
#!/usr/bin/env bash
printf '%s\n' "\$@" >"$work/viewer.args"
for argument in "\$@"; do case \$argument in *.vv|/*) [ -f "\$argument" ] && cp "\$argument" "$work/got.vv" ;; esac; done
exit 0
EOF
chmod +x "$work/fake-viewer"

check_vv() {
  local file=$1
  [ -s "$file" ] || fail "the viewer got no .vv file; arguments: $(cat "$work/viewer.args" 2>/dev/null)"
  [ "$(head -n 1 "$file")" = "[virt-viewer]" ] || fail "the .vv does not start with [virt-viewer]: $(head -c 200 "$file")"
  grep -qx 'type=spice' "$file" || fail "the .vv has no type=spice"
  grep -Eq '^password=.+' "$file" || fail "the .vv has no password"
  grep -Eq '^proxy=http://' "$file" || fail "the .vv has no proxy=http:// (the gateway)"
}

as_user cmd_connect "$pool" "$work/fake-viewer" >"$work/connect.out" 2>&1 \
  || fail "connect $pool --viewer fake: $(cat "$work/connect.out")"
check_vv "$work/got.vv"
cp "$work/got.vv" "$artifacts/connect.vv"
pass "connect $pool runs the viewer on a valid .vv (viewer arguments: $(tr '\n' ' ' <"$work/viewer.args"))"

rm -f "$work/got.vv" "$work/viewer.args"
as_user cmd_connect "$pool" "$work/fake-viewer" --kiosk >"$work/connect.out" 2>&1 \
  || fail "connect --kiosk: $(cat "$work/connect.out")"
check_vv "$work/got.vv"
grep -qx -- '--kiosk' "$work/viewer.args" || fail "connect --kiosk did not pass --kiosk to the viewer: $(tr '\n' ' ' <"$work/viewer.args")"
pass "connect --kiosk passes kiosk arguments ($(tr '\n' ' ' <"$work/viewer.args"))"

as_admin cmd_list >"$work/pools.json" || fail "pools list --json"
held=$(json "
pools = [p for p in data if (p.get('name') or p.get('spec', {}).get('name')) == '$pool']
c = pools[0]['capacity']; print(c['assigned'] + c['connected'] + c['disconnected'])" <"$work/pools.json")
[ "$held" = 1 ] || fail "pools list --json shows $held desktops in a session in $pool, not 1: $(cat "$work/pools.json")"
pass "pools list --json shows the user's desktop in a session"

# -- a real remote-viewer through `deskpool connect` (optional: needs an X display) ----------
if [ -n "${DISPLAY:-}" ] && [ -x /usr/bin/remote-viewer ]; then
  cat >"$work/real-viewer" <<EOF
#!/usr/bin/env bash
echo \$\$ >"$viewer_pid_file"
export G_MESSAGES_DEBUG=all NO_AT_BRIDGE=1
exec /usr/bin/remote-viewer --debug "\$@" >"$work/viewer.log" 2>&1
EOF
  chmod +x "$work/real-viewer"
  as_user cmd_connect "$pool" "$work/real-viewer" >"$work/connect.out" 2>&1 &
  connect_pid=$!
  deadline=$((SECONDS + 90))
  until grep -q 'creating spice display' "$work/viewer.log" 2>/dev/null && grep -q 'main channel: opened' "$work/viewer.log"; do
    if grep -q 'auth failure' "$work/viewer.log" 2>/dev/null; then fail "remote-viewer: auth failure"; fi
    if ! kill -0 "$connect_pid" 2>/dev/null; then
      fail "deskpool connect ended before the console opened: $(cat "$work/connect.out"; tail -n 20 "$work/viewer.log" 2>/dev/null)"
    fi
    [ $SECONDS -lt $deadline ] || fail "remote-viewer did not open the console within 90 s: $(tail -n 20 "$work/viewer.log" 2>/dev/null)"
    sleep 0.5
  done
  cp "$work/viewer.log" "$artifacts/remote-viewer.log"
  kill -TERM "$(cat "$viewer_pid_file")" 2>/dev/null || true
  sleep 2
  kill -KILL "$(cat "$viewer_pid_file")" 2>/dev/null || true
  wait "$connect_pid" 2>/dev/null || true
  pass "deskpool connect with the real remote-viewer opens the console through the gateway"
else
  echo "cli: (no DISPLAY: the real remote-viewer run is left out)"
fi

as_user "$bin" logout >"$work/out" 2>&1 || fail "logout: $(cat "$work/out")"
if as_user "$bin" pools list --mine >"$work/out" 2>&1; then fail "pools list --mine worked after logout"; fi
pass "logout ends the session ($(head -c 100 "$work/out" | tr '\n' ' '))"

echo "cli: all $step steps passed"
