"""The webhook app: receive vendor webhooks, answer fast, process in the background.

```python
from feedbackloop.server import create_app

app = create_app(loop)          # a Starlette app; mount it in FastAPI with app.mount()
```

`POST /webhooks/{source}` verifies and persists a delivery and answers 202; a worker
owned by the app's lifespan processes the inbox. `GET /healthz` and `GET /metrics`
(Prometheus text) are for the platform around it. `freeze_startup_heap()` keeps the
garbage collector off what the process built while starting (`feedbackloop serve` calls it).
"""

from feedbackloop.server._app import DEFAULT_MAX_BODY_SIZE, create_app
from feedbackloop.server._heap import freeze_startup_heap

__all__ = ["DEFAULT_MAX_BODY_SIZE", "create_app", "freeze_startup_heap"]
