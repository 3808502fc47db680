import numpy as np
import numpy.typing as npt

def core_version() -> int: ...

class IdIndex:
    def __init__(self) -> None: ...
    def __len__(self) -> int: ...
    def __contains__(self, id_: object) -> bool: ...
    def ids(self) -> npt.NDArray[np.int64]: ...
    def lookup(self, ids: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
    def indices(self, ids: npt.ArrayLike, name: str = ...) -> npt.NDArray[np.int64]: ...
    def add(self, ids: npt.ArrayLike, name: str = ...) -> npt.NDArray[np.int64]: ...
    def remove(
        self, ids: npt.ArrayLike, name: str = ...
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...

def resolve_in_order(
    live: npt.NDArray[np.int64],
    conf_off: npt.NDArray[np.int64],
    conf_idx: npt.NDArray[np.int64],
    sup_off: npt.NDArray[np.int64],
    sup_idx: npt.NDArray[np.int64],
    supported: npt.NDArray[np.uint8],
    player: npt.NDArray[np.int64],
    kind: npt.NDArray[np.int64],
    plot: npt.NDArray[np.int64],
    source_plot: npt.NDArray[np.int64],
    count_player: npt.NDArray[np.int64],
    count_plot: npt.NDArray[np.int64],
    inventory: npt.NDArray[np.int64],
    max_per_player: npt.NDArray[np.int64],
    max_per_plot: npt.NDArray[np.int64],
    is_move: bool,
    reason: npt.NDArray[np.int16],
    accepted: npt.NDArray[np.uint8],
    code_conflict: int,
    code_unsupported: int,
    code_player_limit: int,
    code_plot_limit: int,
    code_no_inventory: int,
) -> None: ...
