"""What machine is this: the description stored with every measurement it makes.

Latency only means something next to the device that measured it, so every evaluation records the
machine's name, processor, core count, memory and library versions. Everything here comes from the
standard library and ``/proc`` where present, so it runs the same on a server and on an ARM board.
"""

from __future__ import annotations

import os
import platform
import socket
from typing import Any


def describe_device(name: str | None = None) -> dict[str, Any]:
    """A JSON-able description of this machine; ``name`` (e.g. "Pi 5, lab bench") labels it for people."""
    description: dict[str, Any] = {
        "name": name or socket.gethostname(),
        "hostname": socket.gethostname(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "processor": _cpu_model() or platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 1,
        "python": platform.python_version(),
    }
    memory = _memory_mb()
    if memory is not None:
        description["memory_mb"] = memory
    torch_version = _torch_version()
    if torch_version is not None:
        description["torch"] = torch_version
    return description


def device_label(device: dict[str, Any] | None) -> str:
    """One line for tables: "name (processor, N cores)", or "" when nothing is known."""
    if not device:
        return ""
    name = str(device.get("name") or device.get("hostname") or "unknown device")
    details = [str(device["processor"])] if device.get("processor") else []
    if device.get("cpu_count"):
        details.append(f"{device['cpu_count']} cores")
    return f"{name} ({', '.join(details)})" if details else name


def _cpu_model() -> str | None:
    """The processor's model name from /proc/cpuinfo (x86 "model name", ARM "Model"/"Hardware")."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            found.setdefault(key.strip().lower(), value.strip())
    for key in ("model name", "model", "hardware", "cpu model"):
        if key in found:
            return found[key]
    return None


def _memory_mb() -> int | None:
    """Total memory in MiB from /proc/meminfo, when the system has one."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _torch_version() -> str | None:
    """The installed torch version, without importing torch when it is not loaded already."""
    import sys

    module = sys.modules.get("torch")
    if module is not None:
        return str(getattr(module, "__version__", "")) or None
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("torch")
    except PackageNotFoundError:
        return None
