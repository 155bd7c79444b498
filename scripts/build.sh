#!/usr/bin/env bash
# Builds the portal and the gateway, then prints their sizes.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VISITGATE_ROOT"
bash scripts/build-portal.sh
bash scripts/build-gateway.sh
bash scripts/sizes.sh
