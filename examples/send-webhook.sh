#!/usr/bin/env bash
# Sends one signed event to Herald with nothing but curl and openssl (Standard Webhooks:
# HMAC-SHA256 over "id.timestamp.body", keyed with the base64 after "whsec_").
#
#   HERALD_WEBHOOK_SECRET=whsec_… examples/send-webhook.sh ['{"type": …, "data": {…}}']
#
# HERALD_URL (default http://127.0.0.1:3000) and HERALD_SOURCE (default demo) say where to.
set -euo pipefail

url="${HERALD_URL:-http://127.0.0.1:3000}"
source_name="${HERALD_SOURCE:-demo}"
secret="${HERALD_WEBHOOK_SECRET:?set HERALD_WEBHOOK_SECRET to the source\'s whsec_ secret}"
if [ "$#" -gt 0 ]; then
  body="$1"
else
  body='{"type": "chat.message.created", "data": {"recipientUserId": "alice", "senderName": "Bob", "messagePreview": "Sent from examples/send-webhook.sh", "conversationId": "c-42"}}'
fi

# A retry must reuse this id and body: Herald then answers 200 and sends nothing twice.
id="msg_$(openssl rand -hex 12)"
timestamp="$(date +%s)"
key="$(printf '%s' "${secret#whsec_}" | openssl base64 -d -A | od -An -v -tx1 | tr -d ' \n')"
signature="$(printf '%s.%s.%s' "$id" "$timestamp" "$body" |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | openssl base64 -A)"

curl -sS -w '\n' -X POST "$url/v1/webhooks/$source_name" \
  -H 'Content-Type: application/json' \
  -H "webhook-id: $id" \
  -H "webhook-timestamp: $timestamp" \
  -H "webhook-signature: v1,$signature" \
  --data-binary "$body"
