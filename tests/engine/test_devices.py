"""The description of the measuring machine stored with every measurement."""

from __future__ import annotations

import json
import os
import platform
import socket

from search_engine.devices import describe_device, device_label


def test_this_machine_is_described_with_the_facts_latency_depends_on() -> None:
    device = describe_device()
    assert device["name"] == device["hostname"] == socket.gethostname()
    assert device["machine"] == platform.machine()
    assert device["cpu_count"] == os.cpu_count()
    assert device["python"] == platform.python_version()
    assert device["processor"]  # the model name where /proc/cpuinfo has one, never empty
    assert device["torch"].startswith("2.13.0")
    if os.path.exists("/proc/meminfo"):
        assert device["memory_mb"] > 100
    assert json.loads(json.dumps(device)) == device  # travels as JSON as it is


def test_a_given_name_labels_the_device_and_keeps_the_host_name() -> None:
    device = describe_device("Pi 5, lab bench")
    assert device["name"] == "Pi 5, lab bench" and device["hostname"] == socket.gethostname()


def test_the_one_line_label_names_the_device_its_processor_and_cores() -> None:
    assert (
        device_label({"name": "pi", "processor": "Cortex-A76", "cpu_count": 4}) == "pi (Cortex-A76, 4 cores)"
    )
    assert device_label({"hostname": "lab-3"}) == "lab-3"
    assert device_label({"processor": "AMD EPYC"}) == "unknown device (AMD EPYC)"
    assert device_label({}) == "" and device_label(None) == ""
