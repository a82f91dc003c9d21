"""Anyone on a LAN advertising registry records, run inside a network namespace by
tests/e2e/test_discovery.py: `python -m tests.e2e.mdns_spoofer FROM RECORDS [MIMIC]`.

FROM is the address the records are sent from; RECORDS a JSON list of [name, addresses,
port, TXT properties], each advertised as given (names may repeat another's: no check for
a conflict). With MIMIC, a JSON [ip, port, key_port]: it also listens at ip:port and answers
a request for the key in clear with the key of the registry at 127.0.0.1:key_port, as one
posing as that registry can, and leaves any other connection waiting for ever. Prints "up"
once every record is on the network, then runs until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from net.discovery import SERVICE_TYPE, ask_key
from secure.channel import KEY_ANSWER
from secure.noise import CHANNEL_PROTOCOL
from secure.stream import KEY_REQUEST_FRAME, frame


async def _mimic(ip: str, port: int, key_port: int) -> asyncio.Server:
    key = await ask_key("127.0.0.1", key_port)
    assert key is not None
    answer = frame(bytes([KEY_ANSWER]) + key + CHANNEL_PROTOCOL)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked = await reader.read(len(frame(KEY_REQUEST_FRAME)))
        if asked == frame(KEY_REQUEST_FRAME):
            writer.write(answer)
            await writer.drain()
            writer.close()
            return
        await asyncio.sleep(3600)  # a handshake it cannot answer: never a reply

    return await asyncio.start_server(serve, ip, port)


async def main(source: str, records: list[list[Any]], mimic: list[Any] | None) -> None:
    servers = [await _mimic(*mimic)] if mimic else []
    zc = AsyncZeroconf(interfaces=[source], ip_version=IPVersion.V4Only)
    announced = []
    for number, (name, addresses, port, txt) in enumerate(records):
        info = ServiceInfo(
            SERVICE_TYPE,
            f"{name}.{SERVICE_TYPE}",
            port=port,
            properties=txt,
            server=f"spoof-{source.replace('.', '-')}-{number}.local.",
            parsed_addresses=addresses,
        )
        announced.append(
            await zc.async_register_service(info, cooperating_responders=True, strict=False)
        )
    await asyncio.gather(*announced)
    print("up", flush=True)
    try:
        await asyncio.sleep(3600)
    finally:
        for server in servers:
            server.close()
        await zc.async_close()


if __name__ == "__main__":
    given = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), given))
