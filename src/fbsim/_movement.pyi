import numpy as np
import numpy.typing as npt

CONFIG_FIELDS: tuple[str, ...]
STATE_FIELDS: tuple[str, ...]
N_STATE: int
N_CHECKS: int

def occurrence(
    slots: npt.NDArray[np.int64], n_players: int
) -> tuple[npt.NDArray[np.int64], int, int]: ...
def movement_round(
    slots: npt.NDArray[np.int64],
    pos: npt.NDArray[np.float64],
    ct: npt.NDArray[np.float64],
    st: npt.NDArray[np.float64],
    support: npt.NDArray[np.uint8],
    toi_a: npt.NDArray[np.float64],
    depth_a: npt.NDArray[np.float64],
    normal_a: npt.NDArray[np.float64],
    toi_b: npt.NDArray[np.float64],
    depth_b: npt.NDArray[np.float64],
    normal_b: npt.NDArray[np.float64],
    cfg: npt.NDArray[np.float64],
    ref_pos: npt.NDArray[np.float64],
    pend_pos: npt.NDArray[np.float64],
    state: npt.NDArray[np.float64],
    levels: npt.NDArray[np.float64],
    counters: npt.NDArray[np.int64],
    accepted: npt.NDArray[np.uint8],
    reason: npt.NDArray[np.int64],
    setback: npt.NDArray[np.float64],
    evidence: npt.NDArray[np.float64],
) -> None: ...
def bucket_allow(
    slots: npt.NDArray[np.int64],
    now: npt.NDArray[np.float64],
    tokens: npt.NDArray[np.float64],
    last: npt.NDArray[np.float64],
    rate: float,
    burst: float,
) -> npt.NDArray[np.uint8]: ...

class PairCounter:
    def __init__(self, rate: float, burst: float) -> None: ...
    def __len__(self) -> int: ...
    def observe(
        self,
        players: npt.NDArray[np.int64],
        items: npt.NDArray[np.int64],
        now: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.uint8]: ...
    def forget_players(self, players: npt.NDArray[np.int64]) -> None: ...
