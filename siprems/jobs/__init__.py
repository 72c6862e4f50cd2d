"""Background jobs on Redis Streams: see README.md in this folder."""
