"""The ceiling for `make bench`: a bare Sanic app with the same worker count
as an API instance, answering fixed JSON. What we serve is compared with it."""

from __future__ import annotations

import argparse

from sanic import Sanic
from sanic.response import json

app = Sanic("bare_sanic")
app.config.ACCESS_LOG = False
app.config.MOTD = False


@app.get("/")
async def fixed(request):
    return json({"status": "ok"})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers, single_process=False, access_log=False)
