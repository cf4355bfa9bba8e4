"""moto's server in the test process (ThreadedMotoServer on 127.0.0.1), for what needs AWS over HTTP: the scripts
run as subprocesses (AWS_ENDPOINT_URL), and the stand-ins that read S3 from another thread (the Data API
stand-in's COPY, the fault proxy).

It shares moto's backends with the in-process mock (`mock_aws` resets them when it starts and stops), so a
test that uses the server empties it first (`reset`) or checks that what it needs is still there.
"""

from __future__ import annotations

import logging
import urllib.request


class MotoServer:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server logs every request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def reset(self) -> None:
        """Empty every service (moto's reset API)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()

    def client(self, service: str, region: str = "us-west-2"):
        """A boto3 client of this server (the test's own view of what the toolkit did)."""
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.url, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def stop(self) -> None:
        self._server.stop()
