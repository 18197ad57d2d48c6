"""A local StatsD receiver (one UDP socket) and a parser of InfluxDB-tagged StatsD lines."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    name: str
    tags: dict[str, str]
    value: float
    kind: str  # c, g, ms

    def has(self, **tags: str) -> bool:
        return all(self.tags.get(k) == v for k, v in tags.items())


def parse(line: str) -> Point:
    """``name,k=v,k2=v2:value|type[|@rate]`` -> Point."""
    head, _, rest = line.rpartition(":")
    value, kind = rest.split("|")[:2]
    name, *pairs = head.split(",")
    return Point(name, dict(p.split("=", 1) for p in pairs), float(value), kind)


class StatsdReceiver:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            self.lines.extend(line for line in data.decode().splitlines() if line)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def points(self) -> list[Point]:
        return [parse(line) for line in self.lines]

    def env(self) -> dict[str, str]:
        """Airflow's [metrics] settings pointing at this receiver (the documented default: InfluxDB-style tags)."""
        return {"AIRFLOW__METRICS__STATSD_ON": "True", "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                "AIRFLOW__METRICS__STATSD_PORT": str(self.port), "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
                "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True"}
