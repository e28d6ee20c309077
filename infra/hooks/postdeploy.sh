#!/bin/sh
# azd postdeploy hook: after the Function code is deployed, create the Event Grid subscriptions
# that deliver to it (they are validated against the deployed functions, so the first provision
# skips them). Runs `azd provision` once; later deploys find the flag set and do nothing.
set -eu

current="$(azd env get-value WARDEN_WIRE_EVENT_SUBSCRIPTIONS 2>/dev/null || true)"
if [ "$current" = "true" ]; then
    echo "Event Grid subscriptions already wired (WARDEN_WIRE_EVENT_SUBSCRIPTIONS=true)."
    exit 0
fi

echo "Wiring Event Grid subscriptions to the deployed functions (azd provision)..."
azd env set WARDEN_WIRE_EVENT_SUBSCRIPTIONS true
azd provision --no-prompt
