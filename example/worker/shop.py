"""A small Celery app for the example deployment: two queues, one fleet each.

The worker fleet builds CELERY_BROKER_URL at boot from the credentials secret and passes it in the
environment; nothing here knows a password or a host.
"""
import os
import time

from celery import Celery
from kombu import Exchange, Queue

app = Celery("shop", broker=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@localhost//"))
app.conf.update(
    task_default_queue="orders",
    task_routes={"shop.render_report": {"queue": "reports"}},
    # At-least-once delivery: a task whose worker dies mid-task is redelivered. Tasks below are
    # idempotent, as tasks under acks_late must be.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    broker_connection_retry_on_startup=True,
    # Results travel back over the broker (no extra store to deploy); the integration test uses it.
    result_backend=os.environ.get("CELERY_RESULT_BACKEND", "rpc://"),
    result_expires=3600,
)

# The example's broker is RabbitMQ 4.2 (quorum queues): the README's settings for producers, so that
# a web process sending tasks with this app declares the queues exactly as the workers do.
FLEET_QUEUES = ["orders", "reports"]
app.conf.update(
    task_queues=[
        Queue(name, Exchange(name, type="topic"), routing_key=name, queue_arguments={"x-queue-type": "quorum"})
        for name in FLEET_QUEUES
    ],
    task_default_queue_type="quorum",
    task_default_exchange_type="topic",
    task_create_missing_queue_type="quorum",
    task_create_missing_queue_exchange_type="topic",
    control_queue_exclusive=True,
    event_queue_exclusive=True,
    broker_transport_options={"confirm_publish": True},
)


@app.task
def add(x, y):
    return x + y


@app.task
def place_order(order_id):
    return {"order_id": order_id, "status": "placed"}


@app.task(soft_time_limit=240, time_limit=300)
def render_report(report_id, seconds=1.0):
    time.sleep(seconds)
    return {"report_id": report_id, "status": "rendered"}
