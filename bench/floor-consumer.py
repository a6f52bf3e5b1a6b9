"""The physical floor of a worker start: a bare kombu consumer of the queues a worker consumes.

Usage: floor-consumer.py NODE_NAME   (broker: CELERY_BROKER_URL)
Connects, consumes the task queue `celery` (prefetch 1) and the node's remote-control queue on the
`celery.pidbox` fanout exchange (declared by kombu's own Mailbox, with Celery's TTL and expiry),
prints "ready", and keeps the connection open until stdin closes, so its bytes can be read.
No Celery: only what any AMQP consumer of those queues must send.
"""
import os
import sys

from kombu import Connection, Consumer, Exchange, Queue
from kombu.pidbox import Mailbox


def main():
    node = sys.argv[1]
    task_exchange = Exchange("celery", type="direct", durable=True)
    task_queue = Queue("celery", task_exchange, routing_key="celery")
    with Connection(os.environ["CELERY_BROKER_URL"]) as conn:
        conn.connect()
        tasks = Consumer(conn.channel(), [task_queue], accept=["json"], prefetch_count=1,
                         callbacks=[lambda body, message: message.reject(requeue=True)])
        tasks.consume()
        mailbox = Mailbox("celery", type="fanout", accept=["json"], queue_ttl=300.0, queue_expires=10.0)
        mailbox.Node(node, channel=conn.channel(), handlers={}).listen()
        print("ready", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
