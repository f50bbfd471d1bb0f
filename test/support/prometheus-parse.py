#!/usr/bin/python3
"""Parses a Prometheus text exposition from stdin with Prometheus's own Python client
(Debian's python3-prometheus-client), an implementation independent of egressctl's, and
prints the families as JSON: [{"name", "type", "help", "samples": [{"name", "labels",
"value"}]}]. A text it cannot parse exits 1 with the parser's error."""
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families

try:
    families = list(text_string_to_metric_families(sys.stdin.read()))
except Exception as e:  # the parser's own error, whatever its class
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)
out = []
for f in families:
    out.append({
        "name": f.name,
        "type": f.type,
        "help": f.documentation,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples],
    })
print(json.dumps(out))
