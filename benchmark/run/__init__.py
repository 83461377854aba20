"""Running grids: execute one run (`execute.py`, a linear recipe), the results store (`store.py`),
provenance (`provenance.py`) and the loop over a grid's runs (`grid.py`)."""
