#!/usr/bin/python3
"""A real SMTP receiving server (aiosmtpd, Debian's python3-aiosmtpd) for mailrelayd's tests.

It enforces a recipient limit the way real servers do: RCPT number N+1 onwards in a transaction
gets the configured too-many reply (552 5.5.3, 452 4.5.3, Exim's bare "452 too many
recipients", ...). It can refuse chosen users (550 5.1.1), greylist (451 once per recipient),
stop answering, or answer out of step, and it appends one JSON line per accepted message to
--record: {"conn": N, "txn": K, "rcpts": [...], "size": bytes, "sender": "..."}.

Prints "ready PORT" on stdout once listening.
"""
import argparse
import asyncio
import itertools
import json
import re
import sys

from aiosmtpd.controller import Controller

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--limit", type=int, default=0, help="recipients per transaction; 0 = none")
ap.add_argument("--too-many", default="552 5.5.3 Too many recipients")
ap.add_argument("--unknown", default="", help="comma-separated local parts refused with 550 5.1.1")
ap.add_argument("--greylist", action="store_true", help="451 the first RCPT of every recipient")
ap.add_argument("--stall-rcpt", type=int, default=0, help="stop answering at this RCPT number (1-based)")
ap.add_argument("--extra-reply", action="store_true", help="answer DATA's end with two replies (out of step)")
ap.add_argument("--no-pipelining", action="store_true")
ap.add_argument("--record", required=True)
args = ap.parse_args()

unknown = set(u for u in args.unknown.split(",") if u)
greylisted = set()
conn_ids = itertools.count(1)
record = open(args.record, "a", buffering=1)


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads pipelined commands in order but does not say so; real peers do.
        session.host_name = hostname
        if not args.no_pipelining:
            responses.insert(-1, "250-PIPELINING")
        responses.insert(-1, "250-ENHANCEDSTATUSCODES")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if args.stall_rcpt and len(envelope.rcpt_tos) + 1 >= args.stall_rcpt:
            await asyncio.sleep(3600)
        if args.limit and len(envelope.rcpt_tos) >= args.limit:
            return args.too_many
        local = address.split("@")[0]
        if local in unknown:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if args.greylist and address not in greylisted:
            greylisted.add(address)
            return f"451 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if not hasattr(session, "conn_id"):
            session.conn_id = next(conn_ids)
            session.txns = 0
        session.txns += 1
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        reported = re.findall(rb"(?mi)^Final-Recipient: rfc822; ?(\S+)\r?$", content)
        record.write(json.dumps({"conn": session.conn_id, "txn": session.txns, "sender": envelope.mail_from,
                                 "rcpts": envelope.rcpt_tos, "size": len(content),
                                 "reported": [r.decode() for r in reported]}) + "\n")
        if args.extra_reply:
            return "250 2.0.0 Ok: queued\r\n250 2.0.0 Ok: again"
        return "250 2.0.0 Ok: queued"


if args.port == 0:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    args.port = s.getsockname()[1]
    s.close()

controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, server_hostname="peer.test",
                        decode_data=False, enable_SMTPUTF8=False, data_size_limit=50 * 1024 * 1024)
controller.start()
print(f"ready {controller.port}", flush=True)
try:
    sys.stdin.read()  # runs until the test closes our stdin (or kills us)
finally:
    controller.stop()
