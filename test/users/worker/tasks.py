"""The Celery app of the snapshot-test example (test/users/snapshot-example.test.ts)."""
from celery import Celery

app = Celery("tasks")


@app.task
def add(x, y):
    return x + y
