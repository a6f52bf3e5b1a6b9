"""Client side of the end-to-end tests: send tasks, revoke ids, ask workers things.

Usage: celery_driver.py --app SPEC [--configure FILE] COMMAND [OPTIONS]; prints one JSON document.
  --configure FILE   Python run with `app` in scope before the command (a producer's settings)
  send TASK --count N [--args JSON] [--kwargs JSON] [--queue Q] [--countdown S]   ids of the sent tasks
  revoke --count N [--chunk K]       revoke N random task ids (broadcast), in chunks of K
  inspect METHOD [--node NAME] [--timeout S]    replies of `inspect METHOD` (revoked: sizes only)
  control METHOD [--node NAME]       broadcast a remote control command (e.g. shutdown), no reply
  depth QUEUE                        ready messages and consumers of a queue, from a passive declare
                                     (the queue's own answer, not the broker's periodic statistics)
  exec FILE                          run a Python file with `app` in scope (a documented script);
                                     prints its top-level int, str and bool variables
The broker is CELERY_BROKER_URL, as for the worker. One connection per invocation.
"""
import argparse
import json
import sys
import uuid

from celery.app.utils import find_app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--configure")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send")
    send.add_argument("task")
    send.add_argument("--count", type=int, default=1)
    send.add_argument("--args", default="[]")
    send.add_argument("--kwargs", default="{}")
    send.add_argument("--queue")
    send.add_argument("--countdown", type=float)
    revoke = sub.add_parser("revoke")
    revoke.add_argument("--count", type=int, required=True)
    revoke.add_argument("--chunk", type=int, default=5000)
    inspect = sub.add_parser("inspect")
    inspect.add_argument("method")
    inspect.add_argument("--node", action="append")
    inspect.add_argument("--timeout", type=float, default=5.0)
    depth = sub.add_parser("depth")
    depth.add_argument("queue")
    control = sub.add_parser("control")
    control.add_argument("method")
    control.add_argument("--node", action="append")
    run = sub.add_parser("exec")
    run.add_argument("file")
    opts = parser.parse_args()

    app = find_app(opts.app)
    if opts.configure:
        with open(opts.configure) as f:
            exec(compile(f.read(), opts.configure, "exec"), {"app": app})
    if opts.command == "send":
        ids = []
        options = {"queue": opts.queue} if opts.queue else {}
        if opts.countdown is not None:
            options["countdown"] = opts.countdown
        with app.producer_or_acquire() as producer:
            for _ in range(opts.count):
                task_id = str(uuid.uuid4())
                app.send_task(opts.task, args=json.loads(opts.args), kwargs=json.loads(opts.kwargs),
                              task_id=task_id, producer=producer, **options)
                ids.append(task_id)
        out = {"ids": ids}
    elif opts.command == "revoke":
        sent = 0
        with app.connection_for_write() as conn:
            while sent < opts.count:
                chunk = [str(uuid.uuid4()) for _ in range(min(opts.chunk, opts.count - sent))]
                app.control.revoke(chunk, connection=conn)
                sent += len(chunk)
        out = {"revoked": sent}
    elif opts.command == "depth":
        with app.connection_for_write() as conn:
            _, ready, consumers = conn.default_channel.queue_declare(queue=opts.queue, passive=True)
        out = {"ready": ready, "consumers": consumers}
    elif opts.command == "exec":
        scope = {"app": app, "__name__": "__main__"}
        with open(opts.file) as f:
            code = compile(f.read(), opts.file, "exec")
        # The script may print; stdout carries the one JSON document.
        real_stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            exec(code, scope)
        finally:
            sys.stdout = real_stdout
        out = {"vars": {k: v for k, v in scope.items()
                        if not k.startswith("_") and isinstance(v, (bool, int, str))}}
    elif opts.command == "control":
        app.control.broadcast(opts.method, destination=opts.node)
        out = {"sent": opts.method}
    else:
        inspector = app.control.inspect(destination=opts.node, timeout=opts.timeout)
        replies = getattr(inspector, opts.method)() or {}
        if opts.method == "revoked":
            replies = {node: len(ids) for node, ids in replies.items()}
        out = {"replies": replies}
    json.dump(out, sys.stdout, default=repr)


if __name__ == "__main__":
    main()
