"""The physical floor of a worker start: a bare kombu consumer of the queues a worker consumes.

Usage: floor-consumer.py NODE_NAME   (broker: CELERY_BROKER_URL)
Connects, consumes the task queue `celery` (prefetch 1, per consumer) and the node's
remote-control queue on the `celery.pidbox` fanout exchange (declared by kombu's own Mailbox,
with Celery's TTL and expiry), prints "ready", and keeps the connection open until stdin closes,
so its bytes can be read. No Celery: only what any AMQP consumer of those queues must send.

Declared as the generated worker declares them on that broker:
  FLOOR_QUEUE_TYPE     x-queue-type of the task queue (unset: none, the vhost's default)
  FLOOR_EXCHANGE_TYPE  type of its exchange (default direct; topic for native delayed delivery)
  FLOOR_DELAYED_DELIVERY=1  also declare Celery's native delayed-delivery topology and bind the
                       queue to it, on a connection of its own that closes, as Celery >= 5.5 does
                       on quorum queues (kombu >= 5.5)
"""
import os
import sys

from kombu import Connection, Consumer, Exchange, Queue
from kombu.pidbox import Mailbox


def main():
    node = sys.argv[1]
    url = os.environ["CELERY_BROKER_URL"]
    queue_type = os.environ.get("FLOOR_QUEUE_TYPE")
    task_exchange = Exchange("celery", type=os.environ.get("FLOOR_EXCHANGE_TYPE", "direct"), durable=True)
    task_queue = Queue("celery", task_exchange, routing_key="celery",
                       queue_arguments={"x-queue-type": queue_type} if queue_type else None)
    with Connection(url) as conn:
        conn.connect()
        tasks = Consumer(conn.channel(), [task_queue], accept=["json"], prefetch_count=1,
                         callbacks=[lambda body, message: message.reject(requeue=True)])
        tasks.consume()
        mailbox = Mailbox("celery", type="fanout", accept=["json"], queue_ttl=300.0, queue_expires=10.0)
        mailbox.Node(node, channel=conn.channel(), handlers={}).listen()
        if os.environ.get("FLOOR_DELAYED_DELIVERY") == "1":
            from kombu.transport.native_delayed_delivery import (
                bind_queue_to_native_delayed_delivery_exchange, declare_native_delayed_delivery_exchanges_and_queues)
            with Connection(url) as delay_conn:
                declare_native_delayed_delivery_exchanges_and_queues(delay_conn, "quorum")
                bind_queue_to_native_delayed_delivery_exchange(delay_conn, task_queue)
        print("ready", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
