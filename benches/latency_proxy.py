#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays every chunk by DELAY_MS in each
direction (so a round trip takes 2 x DELAY_MS more), keeping each
direction's order: a remote cluster's API server (or S3) on loopback.
TLS passes through unchanged.

Usage: latency_proxy.py DELAY_MS TARGET_PORT LISTEN_PORT [LISTEN_PORT...]
Each LISTEN_PORT forwards to 127.0.0.1:TARGET_PORT (several ports: several
"clusters" in front of one server). Runs until killed."""
import asyncio
import sys

delay = float(sys.argv[1]) / 1000.0
target = int(sys.argv[2])
ports = [int(p) for p in sys.argv[3:]]


async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


async def main():
    servers = [await asyncio.start_server(handle, "127.0.0.1", p) for p in ports]
    print("latency proxy: %d ports, +%g ms each way, to %d" % (len(ports), delay * 1000, target), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())
