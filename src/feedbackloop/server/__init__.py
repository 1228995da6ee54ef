"""The webhook app: receive vendor webhooks, answer fast, process in the background.

```python
from feedbackloop.server import create_app

app = create_app(loop)          # a Starlette app; mount it in FastAPI with app.mount()
```

`POST /webhooks/{source}` verifies and persists a delivery and answers 202; a worker
owned by the app's lifespan processes the inbox. `GET /healthz` and `GET /metrics`
(Prometheus text) are for the platform around it.
"""

from feedbackloop.server._app import DEFAULT_MAX_BODY_SIZE, create_app

__all__ = ["DEFAULT_MAX_BODY_SIZE", "create_app"]
