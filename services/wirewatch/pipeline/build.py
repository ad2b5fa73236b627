"""One way to build the core from settings, for every command and service.

``wirewatch run``, ``enrich``, ``rules test``, the embedded process pool and the Faust
worker all call ``enricher(settings.core)`` (or ``enricher_from`` with the same two
values in a child process), so ``WIREWATCH_CORE__*`` means the same everywhere: the
data directory, the caps, the thresholds, the compiled-data cache.
"""

from __future__ import annotations

from pathlib import Path

from wirewatch.core.logic import DATA_DIR, CoreConfig, Enricher, Resources
from wirewatch.settings import CoreSettings, resources_cache_dir


def resources(data_dir: Path | str | None = None) -> Resources:
    """The rule and gazetteer files (bundled unless ``data_dir``), compiled once and
    cached by their content (``WIREWATCH_CORE__CACHE_DIR``)."""
    return Resources.load(Path(data_dir) if data_dir else DATA_DIR, resources_cache_dir())


def enricher_from(data_dir: Path | str | None, config: CoreConfig) -> Enricher:
    """For a child process: the two picklable values ``enricher`` is made of."""
    return Enricher(resources(data_dir), config)


def enricher(core: CoreSettings) -> Enricher:
    return enricher_from(core.data_dir, core.core_config())
