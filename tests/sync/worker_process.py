"""A delivery worker in its own process (the tests kill it mid-delivery): one sweep.

Usage: python -m tests.sync.worker_process '<json config overrides>'
"""

import json
import sys

from portal import create_app


def main() -> None:
    overrides = json.loads(sys.argv[1])
    app = create_app("testing", overrides=overrides)
    with app.app_context():
        from portal.sync import deliveries

        print(json.dumps(deliveries.sweep()), flush=True)


if __name__ == "__main__":
    main()
