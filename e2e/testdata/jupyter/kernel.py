"""Runs PySpark code in a kernel of a JupyterLab server, the way a notebook
does: REST to start the kernel, the kernel channels websocket to execute.

Usage: python kernel.py <base-url> <authorization>; prints the code's
output. <authorization> is the Authorization header's value: through
Hearth's gateway, "Bearer <admin token>".
"""
import json
import sys
import time
import urllib.request
import uuid

import websocket  # websocket-client, a jupyter_server dependency

BASE, AUTH = sys.argv[1], sys.argv[2]
CODE = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("JUPYTER", spark.sparkContext.master, spark.range(100).selectExpr("sum(id) AS s").collect()[0]["s"])
spark.stop()
"""


def api(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, method=method, data=data,
                                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def main():
    print("STATUS", api("GET", "api/status")["started"] is not None, flush=True)
    kernel = api("POST", "api/kernels", {"name": "python3"})
    ws = websocket.create_connection(BASE.replace("http", "ws", 1) + "api/kernels/%s/channels" % kernel["id"],
                                     header=["Authorization: " + AUTH], timeout=300)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "hearth", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": CODE, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False},
    }))
    deadline = time.time() + 300
    while time.time() < deadline:
        m = json.loads(ws.recv())
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream":
            print(m["content"]["text"], end="", flush=True)
        elif m["msg_type"] == "error":
            print("ERROR", m["content"]["ename"], m["content"]["evalue"], flush=True)
            break
        elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    ws.close()
    api("DELETE", "api/kernels/%s" % kernel["id"])


if __name__ == "__main__":
    main()
