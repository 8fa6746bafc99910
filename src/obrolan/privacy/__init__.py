"""Privacy engine: data map, retention rules and (later) consent, requests and audit."""
