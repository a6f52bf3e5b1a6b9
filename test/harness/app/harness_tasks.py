"""Celery application the end-to-end tests and benchmarks run workers of.

Tasks record what happened as JSON lines appended to a file the test names (O_APPEND writes of a
single short line do not interleave), so a test observes side effects without a result backend,
whose traffic would blur broker byte counts.
"""
import json
import os
import signal
import time

from celery import Celery

app = Celery("harness_tasks")
# The application's own configuration, as a JSON object in the environment: what a user's app
# sets in its code (task_routes, its own defaults...), to show the worker command keeps it.
if os.environ.get("HARNESS_APP_CONFIG"):
    app.conf.update(json.loads(os.environ["HARNESS_APP_CONFIG"]))


def _append(path, **event):
    event.setdefault("pid", os.getpid())
    event.setdefault("at", time.time())
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, (json.dumps(event, sort_keys=True) + "\n").encode())
    finally:
        os.close(fd)


def _delivery(request):
    info = request.delivery_info or {}
    delivery = {
        "id": request.id,
        "node": request.hostname,
        "redelivered": bool(info.get("redelivered")),
        "routing_key": info.get("routing_key"),
    }
    if request.eta:
        delivery["eta"] = str(request.eta)
    # Queues the message was dead-lettered from on its way here, most recent first (RabbitMQ's
    # x-death): Celery's native delayed delivery passes ETA/countdown tasks through celery_delayed_N.
    deaths = getattr(request, "x-death", None)
    if deaths:
        delivery["dead_lettered_from"] = [death.get("queue") for death in deaths]
    return delivery


@app.task(bind=True)
def record(self, path, seconds=0.0):
    """Append a start line, sleep, append a done line: a task that can be caught running."""
    _append(path, event="start", **_delivery(self.request))
    time.sleep(seconds)
    _append(path, event="done", **_delivery(self.request))


@app.task(bind=True)
def report(self, path, keys=()):
    """Append what this worker's task really runs with (delivery attributes and settings)."""
    conf = {key: app.conf.get(key) for key in keys}
    _append(
        path,
        event="report",
        acks_late=bool(self.acks_late),
        reject_on_worker_lost=bool(self.reject_on_worker_lost),
        conf=json.loads(json.dumps(conf, default=repr)),
        **_delivery(self.request),
    )


class NeedsTwoArguments(Exception):
    """An exception that cannot be unpickled: pickle calls NeedsTwoArguments(message)."""

    def __init__(self, code, detail):
        super().__init__("%s: %s" % (code, detail))


@app.task(bind=True)
def retry_with_unpicklable_exception(self):
    """The incident's crash: on Celery < 5.3 the main process fails to unpickle the retry and the
    worker stops with "Unrecoverable error" and exit status 0."""
    raise self.retry(exc=NeedsTwoArguments("E42", "upstream said no"), countdown=3600)


@app.task(bind=True)
def crash_once(self, path, marker):
    """The crash above on the first run only (`marker` file absent), then a normal run: shows a
    crash restart and the redelivery of the task that was running."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        _append(path, event="start", **_delivery(self.request))
        raise self.retry(exc=NeedsTwoArguments("E42", "upstream said no"), countdown=3600)
    _append(path, event="done", **_delivery(self.request))


@app.task(bind=True)
def kill_self(self, path):
    """A poison task: records its start (with the broker's `x-delivery-count`, absent on the first
    delivery), then SIGKILLs the pool process running it, every time it runs. With late acks and
    reject-on-worker-lost the worker requeues it each time; only a delivery limit stops it."""
    _append(path, event="start", task="kill_self", delivery_count=getattr(self.request, "x-delivery-count", None),
            **_delivery(self.request))
    os.kill(os.getpid(), signal.SIGKILL)
