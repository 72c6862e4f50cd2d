"""Webhooks: a store's endpoints, events fanned out to them as delivery jobs
on the job queue, HMAC-signed, retried with back-off, logged per delivery."""
