"""Business messaging (F9, F10): businesses, their numbers and tokens, and a
WhatsApp-Cloud-API-compatible API (docs/business-api.md) on obrolan's own server."""
