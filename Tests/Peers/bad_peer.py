#!/usr/bin/env python3
"""A next hop that misbehaves in one chosen way, on raw sockets (no SMTP library would do these).

Modes:
  greet-554        greets with 554 and closes after QUIT
  silent           accepts the connection and never says anything
  reset            reads the pipelined MAIL/RCPT/DATA group and resets the connection (RST)
  fewer-replies    answers a pipelined group with one reply fewer than it had commands
  malformed        answers the group's first RCPT with a line that is not an SMTP reply
  endless          answers the group's first RCPT with a multi-line reply that never ends
  code-change      answers the first RCPT with a multi-line reply whose code changes mid-way

Prints "ready PORT" once listening and one line "conn N" per accepted connection; serves until
stdin closes.
"""
import argparse, socket, struct, sys, threading

ap = argparse.ArgumentParser()
ap.add_argument("--mode", required=True)
ap.add_argument("--port", type=int, default=0)
args = ap.parse_args()

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", args.port))
srv.listen(64)
print("ready", srv.getsockname()[1], flush=True)
count = 0
lock = threading.Lock()


def lines(f):
    while True:
        line = f.readline()
        if not line:
            return
        yield line.rstrip(b"\r\n")


def serve(c):
    f = c.makefile("rb")
    send = lambda s: c.sendall(s.encode() + b"\r\n")
    try:
        if args.mode == "silent":
            for _ in lines(f):
                pass
            return
        if args.mode == "greet-554":
            send("554 5.3.2 bad.example no service for you")
            for line in lines(f):
                send("221 2.0.0 Bye" if line.upper() == b"QUIT" else "503 5.5.1 No")
                if line.upper() == b"QUIT":
                    return
            return
        send("220 bad.example ESMTP")
        group = []
        for line in lines(f):
            cmd = line.upper()
            if cmd.startswith(b"EHLO"):
                send("250-bad.example\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES")
            elif cmd.startswith(b"QUIT"):
                send("221 2.0.0 Bye")
                return
            elif cmd.startswith(b"MAIL") or cmd.startswith(b"RCPT"):
                group.append(cmd)
            elif cmd == b"DATA":
                rcpts = len(group) - 1
                if args.mode == "reset":
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    c.close()
                    return
                replies = ["250 2.1.0 Ok"] + ["250 2.1.5 Ok"] * rcpts + ["354 go ahead"]
                if args.mode == "fewer-replies":
                    replies = replies[:-2]
                elif args.mode == "malformed":
                    replies[1] = "2x0 what is this"
                elif args.mode == "endless":
                    send("250 2.1.0 Ok")
                    i = 0
                    while True:
                        send("250-2.1.5 and more %d" % i)
                        i += 1
                elif args.mode == "code-change":
                    replies[1] = "250-2.1.5 fine\r\n550 5.1.1 or not"
                send("\r\n".join(replies))
                group = []
            elif cmd == b"RSET":
                send("250 2.0.0 Ok")
            else:
                send("250 2.0.0 Ok")
    except OSError:
        pass
    finally:
        try:
            c.close()
        except OSError:
            pass


def accept():
    global count
    while True:
        c, _ = srv.accept()
        with lock:
            count += 1
            print("conn", count, flush=True)
        threading.Thread(target=serve, args=(c,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
sys.stdin.read()
