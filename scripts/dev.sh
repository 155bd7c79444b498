#!/usr/bin/env bash
# `make dev`: builds everything, then runs the gateway (wrangler dev, state in
# .dev/state) and the stand-ins on their fixed ports, creates the demo tenant
# and prints a one-time admin sign-in link. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VISITGATE_ROOT"
bash scripts/tools.sh
bash scripts/build.sh

mkdir -p .dev
if [ ! -s .dev/admin-token ]; then
  node -e "process.stdout.write(require('crypto').randomBytes(32).toString('base64url'))" > .dev/admin-token
  chmod 600 .dev/admin-token
fi
# The gateway's secrets for local runs, made once and kept (visits and
# cookies stay valid across restarts); .dev.vars is rebuilt from them.
node scripts/dev-secrets.mjs .dev/secrets.env
sha=$(node -e "process.stdout.write(require('crypto').createHash('sha256').update(require('fs').readFileSync('.dev/admin-token','utf8').trim()).digest('hex'))")
# Admins sign in through the OpenID provider stand-in (tests/standins/oidc.mjs).
oidc=$(node -e "import('./tests/standins/oidc.mjs').then(m => process.stdout.write(m.gatewaySigninConfig('http://127.0.0.1:8795/' + m.TENANT + '/v2.0')))")
{ echo "DEV_MODE=true"; echo "PUBLIC_ORIGIN=http://127.0.0.1:8787"; echo "ADMIN_TOKEN_SHA256=$sha"; echo "ADMIN_OIDC='$oidc'"; cat .dev/secrets.env; } > .dev.vars

# The reports database (local D1): apply any new migrations.
wrangler d1 migrations apply visitgate-reports --local --persist-to .dev/state >/dev/null

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped."
}
trap cleanup INT TERM EXIT

setsid node tests/standins/ehr-sandbox.mjs --port 8790 --gateway http://127.0.0.1:8787 &
pids+=($!)
setsid node tests/standins/video.mjs --port 8792 &
pids+=($!)
setsid node tests/standins/sms.mjs --port 8791 --purchase-delay-ms 20000 &
pids+=($!)
setsid node tests/standins/acs.mjs --port 8793 --purchase-delay-ms 20000 &
pids+=($!)
setsid node tests/standins/sendgrid.mjs --port 8794 &
pids+=($!)
setsid node tests/standins/oidc.mjs --port 8795 --redirect-uri http://127.0.0.1:8787/admin/callback &
pids+=($!)
VISITGATE_SKIP_BUILD=1 setsid wrangler dev --local --ip 127.0.0.1 --port 8787 --persist-to .dev/state \
  --show-interactive-dev-session=false --log-level warn --test-scheduled &
pids+=($!)
# wrangler dev does not fire Cron Triggers by itself: run the notification job every 30 s.
setsid bash -c 'while sleep 30; do curl -s -o /dev/null "http://127.0.0.1:8787/__scheduled?cron=*+*+*+*+*"; done' &
pids+=($!)

node scripts/dev-seed.mjs http://127.0.0.1:8787 http://127.0.0.1:8790 http://127.0.0.1:8792 http://127.0.0.1:8791 "$(cat .dev/admin-token)" http://127.0.0.1:8794 http://127.0.0.1:8793
wait -n "${pids[@]}"
