"""The baseline: a bare Flask app with one JSON endpoint, served like the portal.

Every portal figure is divided by this app's requests/s measured in the same run on the same
server configuration, so the ratio says what the portal's own work costs on this machine.
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify({"status": "ok", "service": "baseline", "items": [1, 2, 3]})
