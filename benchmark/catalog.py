"""Imports every module that registers something, so registries are complete on first use."""

import benchmark.datasets  # noqa: F401
import benchmark.grids  # noqa: F401
import benchmark.methods.adapter  # noqa: F401
import benchmark.methods.embedding_only  # noqa: F401
import benchmark.methods.finetune  # noqa: F401
import benchmark.methods.ft_top2  # noqa: F401
import benchmark.methods.infix  # noqa: F401
import benchmark.methods.prefix  # noqa: F401
import benchmark.models  # noqa: F401
