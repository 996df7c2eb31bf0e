"""Dataset contracts: every record-level source described once.

`DATASETS` maps each dataset's name to its contract (`mkdeal.datasets.contract.Dataset`),
in a fixed order; `get_dataset` finds one by name with a message a person can act on. The
code lists the contracts name are in `mkdeal.datasets.codes`.
"""

from __future__ import annotations

from mkdeal.datasets.contract import Dataset
from mkdeal.datasets.definitions import ALL_DATASETS
from mkdeal.errors import UserError

__all__ = ["DATASETS", "get_dataset"]

#: Every dataset contract by name, in a fixed order (reference datasets first).
DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in ALL_DATASETS}


def get_dataset(name: str) -> Dataset:
    """The contract called `name`; a UserError naming the datasets when there is none."""
    try:
        return DATASETS[name]
    except KeyError:
        raise UserError(
            f"There is no dataset {name!r}; the datasets are {', '.join(DATASETS)}."
        ) from None
