"""A local emulator of the Spheron Compute API, for tests and the local demo. It is NOT Spheron.

It speaks the HTTP API the deprecated `@spheron/compute` SDK used (paths, bodies, enums and error
shape from the reference notes), keeps its state in memory, and deploys nothing: a deployment's
status moves Queued → Pending → Deployed (or Failed, for images in `fail_images`) as configured
delays elapse, computed whenever it is read.

Besides the API (`/v1/...` and `GET /status`) it serves a control surface under `/emulator/...`:
- `GET /emulator/requests` — create requests as they arrived (secret env values masked);
  `?all=1` lists every API request.
- `GET|POST /emulator/faults` — read or replace the fault plan (see `FaultPlan`).
- `POST /emulator/reset` — forget clusters, instances, orders and the log; restore the initial
  fault plan.

Run it with `python -m testbed.emulators.spheron --port 8080 --token T`.

Modules: `constants` (paths, limits, the catalogue), `errors`, `faults` (the fault plan),
`validation` (create bodies), `state` (clusters, instances, orders), `routes`, `handler` (HTTP
transport), `emulator` (`SpheronEmulator`) and `cli`.
"""

from services.common.http_server import MAX_BODY_BYTES
from testbed.emulators.spheron.cli import main
from testbed.emulators.spheron.constants import (
    BANNER,
    CREATE_PATH,
    DEFAULT_PAGE_LIMIT,
    MACHINE_IMAGES,
    MAX_PAGE_LIMIT,
    PROVIDER_HOST,
    REGIONS,
    SPEC_CHOICES,
    STORAGE_CLASSES,
    JsonDict,
)
from testbed.emulators.spheron.emulator import SpheronEmulator
from testbed.emulators.spheron.errors import ApiError
from testbed.emulators.spheron.faults import FaultPlan

__all__ = [
    "BANNER",
    "CREATE_PATH",
    "DEFAULT_PAGE_LIMIT",
    "MACHINE_IMAGES",
    "MAX_BODY_BYTES",
    "MAX_PAGE_LIMIT",
    "PROVIDER_HOST",
    "REGIONS",
    "SPEC_CHOICES",
    "STORAGE_CLASSES",
    "ApiError",
    "FaultPlan",
    "JsonDict",
    "SpheronEmulator",
    "main",
]
