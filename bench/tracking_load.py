"""A small load generator of raw keep-alive HTTP/1.1 connections that counts exactly which requests
were acknowledged: a response is counted once its last byte has arrived, so when the server is
killed mid-run the count is what the server had answered, no more, no less."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""

    def raw(self, host: str) -> bytes:
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: {host}\r\n"
        if self.method == "POST":
            head += f"Content-Type: text/plain\r\nContent-Length: {len(self.body)}\r\n"
        return (head + "\r\n").encode() + self.body


@dataclass
class Tally:
    """Responses by status class; ``acknowledged`` counts the 2xx and 3xx ones."""

    acknowledged: int = 0
    refused: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if 200 <= status < 400:
            self.acknowledged += 1
        else:
            self.refused += 1


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length and status not in (204, 304):
        await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, requests: list[Request], offset: int, tally: Tally, stop: asyncio.Event
) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError, ConnectionError):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            position = offset
            while not stop.is_set():
                request = requests[position % len(requests)]
                position += 1
                writer.write(request.raw(f"{host}:{port}"))
                await writer.drain()
                tally.count(await _read_response(reader))
        finally:
            writer.close()


async def drive(
    host: str, port: int, requests: list[Request], connections: int, stop: asyncio.Event
) -> Tally:
    """Send ``requests`` round-robin over ``connections`` until ``stop`` is set or the server is gone."""
    tally = Tally()
    step = max(1, len(requests) // connections)
    tasks = [
        asyncio.create_task(_connection(host, port, requests, n * step, tally, stop))
        for n in range(connections)
    ]
    await asyncio.gather(*tasks)
    return tally
