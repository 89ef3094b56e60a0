"""Constants of the emulated Spheron Compute API: paths, limits and what the catalogue offers."""

from __future__ import annotations

import itertools
from typing import Any

BANNER = "Local emulator of the Spheron Compute API (not Spheron) listening on {url}"
#: Host name the emulator reports as the provider of deployed orders (it serves nothing).
PROVIDER_HOST = "provider.emulator.localhost"
REGIONS = ("us-east", "us-west", "eu-central", "eu-west", "ap-south")
SPEC_CHOICES = (0.5, 1, 2, 4, 8, 16, 32)
STORAGE_CLASSES = ("beta1", "beta2", "beta3")
DEFAULT_PAGE_LIMIT = 10
MAX_PAGE_LIMIT = 100
CREATE_PATH = "/v1/cluster-instance/create"

#: 24 machine images, so that a client reading only the first page of 10 misses most of them.
MACHINE_IMAGES: tuple[dict[str, Any], ...] = tuple(
    {
        "_id": f"{0xE0000000 + index:024x}",
        "name": f"emu-{cpu:g}cpu-{cpu * factor:g}gi",
        "cpu": cpu,
        "memory": f"{cpu * factor:g}Gi",
        "storage": f"{max(10, int(cpu * 20))}Gi",
    }
    for index, (cpu, factor) in enumerate(itertools.product((0.5, 1, 2, 4, 8, 16), (1, 2, 4, 8)))
)

JsonDict = dict[str, Any]
