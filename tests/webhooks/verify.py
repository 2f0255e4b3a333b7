"""Verifies one webhook delivery with the Standard Webhooks reference library (PyPI
`standardwebhooks`, pinned in scripts/sdk-venv.sh): an implementation that is not ours.

Usage: verify.py SECRET BODY_FILE < headers.json   (headers: webhook-id, -timestamp, -signature)
Prints the verified payload as JSON; exits non-zero when the signature does not verify.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook

secret, body_file = sys.argv[1], sys.argv[2]
headers = json.load(sys.stdin)
with open(body_file, "rb") as f:
    body = f.read()
payload = Webhook(secret).verify(body, headers)
print(json.dumps(payload))
