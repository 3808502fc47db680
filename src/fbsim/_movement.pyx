# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# SPDX-License-Identifier: MIT
"""Cython kernels of the movement checks and rate limiter (issue 8).

These are the per-player loops of `fbsim.movement.MovementChecker` and
`fbsim.ratelimit.RateLimiter`: they walk batch rows *in order* and update struct-of-arrays
player state in place. Bounds checks are off because every slot index passed in comes from
`fbsim._kernels.IdIndex` (validated by the Python layer) and every other index is a loop bound.
The Python layer validates shapes and dtypes; the kernels themselves still reject non-finite
values per row (a NaN never reaches the state) because the rows are hostile client input.

The physical model (after Grim's predict-then-compare and NoCheatPlus's buffered speed check,
re-derived for Roblox units) is documented in `fbsim.movement`.
"""

from cython.operator cimport dereference as deref
from libc.math cimport INFINITY, exp, fabs, isfinite, sqrt
from libc.stdint cimport INT64_MIN, int64_t, uint8_t
from libcpp.map cimport map as cmap
from libcpp.pair cimport pair

import numpy as np

# Row reason codes; mirrored by fbsim.movement.Reason (tests check the two agree).
cdef enum: R_OK = 0
cdef enum: R_UNKNOWN = 1
cdef enum: R_INVALID = 2
cdef enum: R_BACKWARDS = 3
cdef enum: R_SPEED = 4
cdef enum: R_TELEPORT = 5
cdef enum: R_FLY = 6
cdef enum: R_NOCLIP = 7
cdef enum: R_TIMER = 8
cdef enum: R_SETBACK_PENDING = 9

# Config vector layout (fbsim.movement packs MovementConfig in this order).
CONFIG_FIELDS = (
    "walk_speed", "speed_tolerance", "speed_buffer", "teleport_excess", "max_gap",
    "boost_grace", "jump_velocity", "gravity", "vertical_tolerance", "noclip_tolerance",
    "timer_max_lead", "timer_window", "timer_drift_rate", "level_decay_time",
    "setback_timeout", "weight_speed", "weight_teleport", "weight_fly", "weight_noclip",
    "weight_timer", "level_cap", "max_coordinate", "pending_timeout", "timer_warmup",
    "rejump_tolerance", "ground_tolerance",
)
cdef enum: C_WALK = 0
cdef enum: C_TOL = 1
cdef enum: C_BUFFER = 2
cdef enum: C_TP_EXCESS = 3
cdef enum: C_MAX_GAP = 4
cdef enum: C_BOOST_GRACE = 5
cdef enum: C_JUMP_V = 6
cdef enum: C_GRAVITY = 7
cdef enum: C_VTOL = 8
cdef enum: C_NOCLIP_TOL = 9
cdef enum: C_MAX_LEAD = 10
cdef enum: C_WINDOW = 11
cdef enum: C_DRIFT = 12
cdef enum: C_DECAY = 13
cdef enum: C_SETBACK_TIMEOUT = 14
cdef enum: C_W0 = 15
cdef enum: C_LEVEL_CAP = 20
cdef enum: C_MAXC = 21
cdef enum: C_PENDING_TIMEOUT = 22
cdef enum: C_TIMER_WARMUP = 23
cdef enum: C_REJUMP_TOL = 24
cdef enum: C_GROUND_TOL = 25

# Per-player float state columns.
STATE_FIELDS = (
    "last_ct", "last_st", "ground_y", "air_t0", "launch_v", "speed_buf", "timer_ref",
    "boost_mult", "boost_until", "extra_speed", "extra_until", "added_at", "has_ct",
    "airborne", "pending", "setback_pending", "setback_since", "pending_launch_v",
    "pending_since", "carried_until", "vy", "first_st", "win_min", "win_start",
)
cdef enum: S_LAST_CT = 0
cdef enum: S_LAST_ST = 1
cdef enum: S_GROUND_Y = 2
cdef enum: S_AIR_T0 = 3
cdef enum: S_LAUNCH_V = 4
cdef enum: S_BUF = 5
cdef enum: S_TIMER_REF = 6
cdef enum: S_BOOST_MULT = 7
cdef enum: S_BOOST_UNTIL = 8
cdef enum: S_EXTRA = 9
cdef enum: S_EXTRA_UNTIL = 10
cdef enum: S_ADDED_AT = 11
cdef enum: S_HAS_CT = 12
cdef enum: S_AIRBORNE = 13
cdef enum: S_PENDING = 14
cdef enum: S_SETBACK = 15
cdef enum: S_SETBACK_SINCE = 16
cdef enum: S_PEND_LAUNCH_V = 17
cdef enum: S_PEND_SINCE = 18
cdef enum: S_CARRIED_UNTIL = 19
cdef enum: S_VY = 20
cdef enum: S_FIRST_ST = 21
cdef enum: S_WIN_MIN = 22
cdef enum: S_WIN_START = 23
N_STATE = len(STATE_FIELDS)
N_CHECKS = 5
cdef enum: NCHK = 5
cdef enum: INT64_MAX = 9223372036854775807

# Bits of the per-row `support` input.
# Times beyond 1e15 s (3e7 years) are rejected: at that magnitude float64 steps are 0.125 s.
cdef double MAX_TIME = 1e15
cdef enum: SUP_TIGHT = 1
cdef enum: SUP_REJUMP = 2


cdef inline double envelope(double v, double g, double s) noexcept nogil:
    """Highest rise above take-off reachable `s` seconds after the first airborne sample.

    The take-off happened somewhere between the last grounded sample and the first airborne
    one, so a full apex v^2/2g is allowed for v/g seconds after the first airborne sample, and
    only then does the parabola come down (the lenient end of the take-off interval).
    """
    cdef double t_apex = v / g
    cdef double h = 0.5 * v * t_apex
    if s <= t_apex:
        return h
    return h - 0.5 * g * (s - t_apex) * (s - t_apex)


cdef inline int evaluate(const double* ref, const double* p, double allowed_h, double buf,
                         double toi, double depth, const double* n, int support, double ground_y, double s_air,
                         double v_launch, double vy, double dt_c, const double* cfg,
                         double* out) noexcept nogil:
    """Checks one candidate reference state against a new position.

    out = [excess, measured, allowed, new_buf, fly_reset, contact_x, contact_y, contact_z];
    fly_reset is 1 for "landed on a surface just below", 2 for "landed back at the take-off
    height between samples", 3 for "bounced off a surface close below". Returns a reason code (R_OK when the move is legal from this reference).
    """
    cdef double dx = p[0] - ref[0], dy = p[1] - ref[1], dz = p[2] - ref[2]
    cdef double d_h = sqrt(dx * dx + dz * dz)
    cdef double step_excess = d_h - allowed_h
    cdef double cx, cy, cz, env, fly_excess
    out[3] = buf + step_excess if buf + step_excess > 0.0 else 0.0
    out[4] = 0.0
    # Noclip first: the ground plane is solid, and a swept capsule must not sink into an item
    # by more than the tolerance (touching or sliding along a wall is legal).
    if p[1] < -cfg[C_NOCLIP_TOL]:
        out[0] = -p[1]
        out[1] = p[1]
        out[2] = 0.0
        out[5] = p[0]
        out[6] = 0.0
        out[7] = p[2]
        return R_NOCLIP
    if toi <= 1.0 and toi >= 0.0:
        cx = ref[0] + dx * toi
        cy = ref[1] + dy * toi
        cz = ref[2] + dz * toi
        if depth > cfg[C_NOCLIP_TOL]:
            out[0] = depth
            out[1] = depth
            out[2] = cfg[C_NOCLIP_TOL]
            # Back off along the normal so the setback capsule does not touch the wall.
            out[5] = cx + n[0] * 1e-3
            out[6] = cy + n[1] * 1e-3
            out[7] = cz + n[2] * 1e-3
            return R_NOCLIP
    if step_excess > cfg[C_TP_EXCESS]:
        out[0] = step_excess
        out[1] = d_h
        out[2] = allowed_h
        return R_TELEPORT
    if not (support & SUP_TIGHT):
        env = envelope(v_launch, cfg[C_GRAVITY], s_air)
        fly_excess = p[1] - (ground_y + env + cfg[C_VTOL])
        if (support & SUP_REJUMP) and vy < 0.0 and p[1] > ref[1]:
            # Falling at the last sample, rising now, and near a surface: it bounced off it
            # (landed and jumped) between the two samples.
            out[4] = 3.0
        elif fly_excess > 0.0:
            if support & SUP_REJUMP:
                # A surface is close below: the player may have landed and jumped again
                # between two samples (bunny hopping with a lost packet).
                out[4] = 1.0
            elif vy < 0.0 and \
                    -vy * dt_c + 0.5 * cfg[C_GRAVITY] * dt_c * dt_c >= ref[1] - ground_y and \
                    p[1] - ground_y <= envelope(v_launch, cfg[C_GRAVITY], 0.0) + cfg[C_VTOL]:
                # It was falling, had time to fall back to its take-off height at the speed it
                # was falling, and is now within one jump of it: a landing and re-jump hidden
                # by lost packets.
                out[4] = 2.0
            else:
                out[0] = fly_excess
                out[1] = p[1] - ground_y
                out[2] = env + cfg[C_VTOL]
                return R_FLY
    if out[3] > cfg[C_BUFFER]:
        out[0] = out[3]
        out[1] = d_h
        out[2] = allowed_h
        return R_SPEED
    return R_OK


def occurrence(const int64_t[::1] slots, int64_t n_players):
    """(round, n_rounds, n_unknown): round of each row is 0 for a player's first row in the
    batch, 1 for its second, ...; rows whose slot is negative (unknown players) get -1.

    Rows of one round have distinct players, so each round can be checked with one
    vectorised collision query.
    """
    cdef Py_ssize_t n = slots.shape[0], i
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    counts_arr = np.zeros(max(n_players, 1), dtype=np.int64)
    cdef int64_t[::1] counts = counts_arr
    cdef int64_t rounds = 0, unknown = 0
    with nogil:
        for i in range(n):
            if slots[i] < 0 or slots[i] >= n_players:
                o[i] = -1
                unknown += 1
            else:
                o[i] = counts[slots[i]]
                counts[slots[i]] += 1
                if counts[slots[i]] > rounds:
                    rounds = counts[slots[i]]
    return out, rounds, unknown


def movement_round(const int64_t[::1] slots, const double[:, ::1] pos, const double[::1] ct,
                   const double[::1] st, const uint8_t[::1] support,
                   const double[::1] toi_a, const double[::1] depth_a,
                   const double[:, ::1] normal_a,
                   const double[::1] toi_b, const double[::1] depth_b,
                   const double[:, ::1] normal_b,
                   const double[::1] cfg,
                   double[:, ::1] ref_pos, double[:, ::1] pend_pos, double[:, ::1] state,
                   double[:, ::1] levels, int64_t[:, ::1] counters,
                   uint8_t[::1] accepted, int64_t[::1] reason, double[:, ::1] setback,
                   double[:, ::1] evidence):
    """Checks rows with distinct, valid slots, in order, and updates the player state in place.

    evidence[i] = (excess, measured, allowed, level_after) for violating rows.
    """
    cdef Py_ssize_t n = slots.shape[0], i, c
    cdef int64_t s
    cdef double p[3]
    cdef double a[3]
    cdef double b[3]
    cdef double na[3]
    cdef double nb[3]
    cdef double out_a[8]
    cdef double out_b[8]
    cdef double dt_s, dt_c, dt_eff, k, o, ref, lead, vmax, allowed_h, s_air, v_launch
    cdef double ground_y, level, t_move
    cdef int code_a, code_b, code, chk, sup
    cdef bint first, use_b, fresh_air
    cdef double* chosen
    with nogil:
        for i in range(n):
            s = slots[i]
            p[0] = pos[i, 0]
            p[1] = pos[i, 1]
            p[2] = pos[i, 2]
            setback[i, 0] = ref_pos[s, 0]
            setback[i, 1] = ref_pos[s, 1]
            setback[i, 2] = ref_pos[s, 2]
            evidence[i, 0] = 0.0
            evidence[i, 1] = 0.0
            evidence[i, 2] = 0.0
            evidence[i, 3] = 0.0
            accepted[i] = 0
            # Hostile input: non-finite or out-of-world values are rejected before any state
            # is read, so a NaN can never enter a counter.
            if not (isfinite(p[0]) and isfinite(p[1]) and isfinite(p[2]) and isfinite(ct[i])
                    and isfinite(st[i])) or fabs(p[0]) > cfg[C_MAXC] or \
                    fabs(p[1]) > cfg[C_MAXC] or fabs(p[2]) > cfg[C_MAXC] or \
                    fabs(ct[i]) > MAX_TIME or fabs(st[i]) > MAX_TIME:
                reason[i] = R_INVALID
                continue
            first = state[s, S_HAS_CT] == 0.0
            if (not first and ct[i] < state[s, S_LAST_CT]) or st[i] < state[s, S_LAST_ST]:
                reason[i] = R_BACKWARDS
                continue
            if first:
                dt_s = st[i] - state[s, S_ADDED_AT]
                if dt_s < 0.0:
                    dt_s = 0.0
            else:
                dt_s = st[i] - state[s, S_LAST_ST]
            state[s, S_LAST_ST] = st[i]
            if counters[s, 1] < INT64_MAX:
                counters[s, 1] += 1
            # Violation levels decay with server time (half-life-like), never with client time.
            k = exp(-dt_s / cfg[C_DECAY])
            for c in range(NCHK):
                levels[s, c] *= k
                if not (levels[s, c] <= cfg[C_LEVEL_CAP]):  # also catches NaN
                    levels[s, c] = cfg[C_LEVEL_CAP]
            # Timer: offset o = receive time - client time = latency + clock offset, never
            # below its true minimum for an honest clock. The reference is the lowest offset
            # seen; it drifts down only at the allowed clock-drift rate (so a fast clock leads
            # it) and rises only to the minimum of a whole window of samples (a latency
            # increase, which jitter alone cannot fake because it only adds delay).
            o = st[i] - ct[i]
            if first:
                ref = o
                state[s, S_FIRST_ST] = st[i]
                state[s, S_WIN_MIN] = o
                state[s, S_WIN_START] = st[i]
            else:
                ref = state[s, S_TIMER_REF]
                if st[i] - state[s, S_FIRST_ST] < cfg[C_TIMER_WARMUP] and o < ref:
                    # Warm-up: the first samples may all carry jitter, so the reference
                    # falls freely to the lowest offset seen before it is trusted.
                    ref = o
                elif o < ref:
                    ref = ref - cfg[C_DRIFT] * dt_s
                if o < state[s, S_WIN_MIN]:
                    state[s, S_WIN_MIN] = o
                if st[i] - state[s, S_WIN_START] >= cfg[C_WINDOW]:
                    if state[s, S_WIN_MIN] > ref:
                        ref = state[s, S_WIN_MIN]
                    state[s, S_WIN_MIN] = o
                    state[s, S_WIN_START] = st[i]
            lead = ref - o
            if lead > cfg[C_MAX_LEAD]:
                # Drop the packet (Chickynoid) and resync, so the excess is counted once.
                state[s, S_TIMER_REF] = o + cfg[C_MAX_LEAD]
                code = R_TIMER
                evidence[i, 0] = lead - cfg[C_MAX_LEAD]
                evidence[i, 1] = lead
                evidence[i, 2] = cfg[C_MAX_LEAD]
            else:
                state[s, S_TIMER_REF] = ref
                # When the move happened, on the server clock: client time plus the lowest
                # offset. Grants that end at a server time are compared with this, so moves
                # delivered late by a lag spike keep the allowances they were made under.
                t_move = ct[i] + ref
                if first:
                    dt_c = dt_s
                else:
                    dt_c = ct[i] - state[s, S_LAST_CT]
                dt_eff = dt_c if dt_c < cfg[C_MAX_GAP] else cfg[C_MAX_GAP]
                vmax = cfg[C_WALK]
                if t_move <= state[s, S_BOOST_UNTIL] + cfg[C_BOOST_GRACE]:
                    vmax = vmax * state[s, S_BOOST_MULT]
                if t_move <= state[s, S_EXTRA_UNTIL]:
                    vmax = vmax + state[s, S_EXTRA]
                allowed_h = vmax * dt_eff * (1.0 + cfg[C_TOL])
                if state[s, S_PENDING] >= 3.0 and \
                        st[i] - state[s, S_PEND_SINCE] > cfg[C_PENDING_TIMEOUT]:
                    # Knockback/platform states only widen what is legal; they lapse.
                    state[s, S_PENDING] = 0.0
                if state[s, S_PENDING] != 0.0 and \
                        st[i] - state[s, S_PEND_SINCE] > cfg[C_PENDING_TIMEOUT]:
                    # Never acknowledged: the server's move stands and the old state expires.
                    ref_pos[s, 0] = pend_pos[s, 0]
                    ref_pos[s, 1] = pend_pos[s, 1]
                    ref_pos[s, 2] = pend_pos[s, 2]
                    state[s, S_PENDING] = 0.0
                    state[s, S_AIRBORNE] = 0.0
                    state[s, S_GROUND_Y] = pend_pos[s, 1]
                    state[s, S_LAUNCH_V] = state[s, S_PEND_LAUNCH_V]
                    state[s, S_BUF] = 0.0
                a[0] = ref_pos[s, 0]
                a[1] = ref_pos[s, 1]
                a[2] = ref_pos[s, 2]
                na[0] = normal_a[i, 0]
                na[1] = normal_a[i, 1]
                na[2] = normal_a[i, 2]
                sup = support[i]
                if t_move <= state[s, S_CARRIED_UNTIL]:
                    # Riding a platform the server declared: the client stands on it even
                    # where the server's copy of the platform has already moved on.
                    sup = sup | SUP_TIGHT | SUP_REJUMP
                elif (sup & SUP_REJUMP) and fabs(p[1] - state[s, S_GROUND_Y]) <= cfg[C_GROUND_TOL]:
                    # Still level with the ground it stood on and a surface is close: standing
                    # on an edge (the exact foot sphere just misses it), not flying.
                    sup = sup | SUP_TIGHT
                fresh_air = state[s, S_AIRBORNE] == 0.0
                s_air = 0.0 if fresh_air else ct[i] - state[s, S_AIR_T0]
                code_a = evaluate(a, p, allowed_h, state[s, S_BUF], toi_a[i], depth_a[i], na, sup,
                                  state[s, S_GROUND_Y], s_air, state[s, S_LAUNCH_V],
                                  state[s, S_VY], dt_c, &cfg[0], out_a)
                code_b = -1
                if state[s, S_PENDING] != 0.0:
                    b[0] = pend_pos[s, 0]
                    b[1] = pend_pos[s, 1]
                    b[2] = pend_pos[s, 2]
                    nb[0] = normal_b[i, 0]
                    nb[1] = normal_b[i, 1]
                    nb[2] = normal_b[i, 2]
                    code_b = evaluate(b, p, allowed_h, 0.0, toi_b[i], depth_b[i], nb, sup, b[1], 0.0,
                                      state[s, S_PEND_LAUNCH_V], 0.0, dt_c, &cfg[0], out_b)
                use_b = code_a != R_OK and code_b == R_OK
                code = R_OK if (code_a == R_OK or use_b) else code_a
                if code == R_OK:
                    chosen = &out_b[0] if use_b else &out_a[0]
                    if use_b:
                        # The client acknowledged the server move: it becomes the reference.
                        state[s, S_PENDING] = 0.0
                        state[s, S_AIRBORNE] = 0.0
                        state[s, S_GROUND_Y] = b[1]
                        state[s, S_LAUNCH_V] = state[s, S_PEND_LAUNCH_V]
                        fresh_air = True
                    accepted[i] = 1
                    state[s, S_SETBACK] = 0.0
                    state[s, S_BUF] = chosen[3]
                    state[s, S_VY] = (p[1] - ref_pos[s, 1]) / dt_c if dt_c > 0.0 else 0.0
                    if use_b:
                        state[s, S_VY] = 0.0
                    state[s, S_LAST_CT] = ct[i]
                    state[s, S_HAS_CT] = 1.0
                    ref_pos[s, 0] = p[0]
                    ref_pos[s, 1] = p[1]
                    ref_pos[s, 2] = p[2]
                    if sup & SUP_TIGHT:
                        state[s, S_AIRBORNE] = 0.0
                        state[s, S_GROUND_Y] = p[1]
                        state[s, S_LAUNCH_V] = cfg[C_JUMP_V]
                    elif chosen[4] != 0.0:
                        state[s, S_AIRBORNE] = 1.0
                        if chosen[4] == 1.0:
                            state[s, S_GROUND_Y] = p[1]
                        elif chosen[4] == 3.0:
                            state[s, S_GROUND_Y] = p[1] if p[1] < ref_pos[s, 1] else ref_pos[s, 1]
                        state[s, S_AIR_T0] = ct[i]
                        state[s, S_LAUNCH_V] = cfg[C_JUMP_V]
                    elif fresh_air:
                        state[s, S_AIRBORNE] = 1.0
                        state[s, S_AIR_T0] = ct[i]
                    reason[i] = R_OK
                    continue
                chosen = &out_a[0]
                evidence[i, 0] = chosen[0]
                evidence[i, 1] = chosen[1]
                evidence[i, 2] = chosen[2]
                if code == R_NOCLIP:
                    setback[i, 0] = chosen[5]
                    setback[i, 1] = chosen[6]
                    setback[i, 2] = chosen[7]
                else:
                    # The reference may have changed above (an expired server move).
                    setback[i, 0] = ref_pos[s, 0]
                    setback[i, 1] = ref_pos[s, 1]
                    setback[i, 2] = ref_pos[s, 2]
            # Rejected for a violation. While an earlier setback is in flight the client cannot
            # have seen it yet, so its stale packets are dropped without new violation points.
            if state[s, S_SETBACK] != 0.0 and \
                    st[i] - state[s, S_SETBACK_SINCE] <= cfg[C_SETBACK_TIMEOUT]:
                reason[i] = R_SETBACK_PENDING
                evidence[i, 0] = 0.0
                continue
            reason[i] = code
            chk = code - R_SPEED
            level = levels[s, chk] + cfg[C_W0 + chk] * evidence[i, 0]
            if not (level <= cfg[C_LEVEL_CAP]):
                level = cfg[C_LEVEL_CAP]
            levels[s, chk] = level
            evidence[i, 3] = level
            if counters[s, 0] < INT64_MAX:
                counters[s, 0] += 1
            if code != R_TIMER:
                # Set back: the server moves the player to the setback position and waits for
                # the client to come back to it (the speed buffer is spent by the setback).
                ref_pos[s, 0] = setback[i, 0]
                ref_pos[s, 1] = setback[i, 1]
                ref_pos[s, 2] = setback[i, 2]
                # The rejected move's time is spent: after coming back the client may only
                # move as far as the time since then allows, and the buffer stays full so
                # ignoring the setback cannot buy a second, fresh allowance.
                if ct[i] > state[s, S_LAST_CT] or first:
                    state[s, S_LAST_CT] = ct[i]
                    state[s, S_HAS_CT] = 1.0
                state[s, S_BUF] = cfg[C_BUFFER]
                state[s, S_SETBACK] = 1.0
                state[s, S_SETBACK_SINCE] = st[i]
                if code == R_NOCLIP:
                    state[s, S_AIRBORNE] = 0.0
                    state[s, S_GROUND_Y] = setback[i, 1]
                    state[s, S_LAUNCH_V] = cfg[C_JUMP_V]


def bucket_allow(const int64_t[::1] slots, const double[::1] now, double[::1] tokens,
                 double[::1] last, double rate, double burst):
    """Token buckets, rows in order: refill `rate`/s up to `burst`, spend one token per row.

    A time that goes backwards refills nothing and does not move the bucket's clock, so
    replaying old timestamps cannot mint tokens. Returns uint8[n] (1 = allowed).
    """
    cdef Py_ssize_t n = slots.shape[0], i
    cdef int64_t s
    cdef double t, dt
    out = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] o = out
    with nogil:
        for i in range(n):
            s = slots[i]
            t = now[i]
            dt = t - last[s]
            if dt > 0.0:
                tokens[s] = tokens[s] + dt * rate
                if tokens[s] > burst:
                    tokens[s] = burst
                last[s] = t
            if tokens[s] >= 1.0:
                tokens[s] -= 1.0
                o[i] = 1
    return out


cdef class PairCounter:
    """Token buckets keyed by (player id, item id), for duplicate-use detection.

    Each (player, item) key holds `burst` tokens refilled at `rate`/s; a use with no token
    left is a suspected duplication. Single writer; not safe for concurrent calls.
    """

    cdef cmap[pair[int64_t, int64_t], pair[double, double]] _buckets
    cdef double _rate
    cdef double _burst

    def __init__(self, double rate, double burst):
        self._rate = rate
        self._burst = burst

    def __len__(self):
        return self._buckets.size()

    def observe(self, const int64_t[::1] players, const int64_t[::1] items,
                const double[::1] now):
        """uint8[n]: 1 where the use exceeds the budget of its (player, item) key."""
        cdef Py_ssize_t n = players.shape[0], i
        cdef pair[int64_t, int64_t] key
        cdef pair[double, double]* b
        cdef double dt
        out = np.zeros(n, dtype=np.uint8)
        cdef uint8_t[::1] o = out
        for i in range(n):
            key.first = players[i]
            key.second = items[i]
            if self._buckets.count(key) == 0:
                self._buckets[key] = pair[double, double](self._burst, now[i])
            b = &self._buckets[key]
            dt = now[i] - b.second
            if dt > 0.0:
                b.first = b.first + dt * self._rate
                if b.first > self._burst:
                    b.first = self._burst
                b.second = now[i]
            if b.first >= 1.0:
                b.first -= 1.0
            else:
                o[i] = 1
        return out

    def forget_players(self, const int64_t[::1] players):
        """Drops every key of the given players."""
        cdef Py_ssize_t i
        cdef cmap[pair[int64_t, int64_t], pair[double, double]].iterator it
        cdef pair[int64_t, int64_t] key
        for i in range(players.shape[0]):
            key.first = players[i]
            key.second = INT64_MIN
            it = self._buckets.lower_bound(key)
            while it != self._buckets.end() and \
                    deref(it).first.first == players[i]:
                it = self._buckets.erase(it)
