"""The limited-memory BFGS matrix of L-BFGS-B in compact form.

Byrd, Nocedal and Schnabel, "Representations of quasi-Newton matrices and their use in
limited memory methods", Math. Programming 63 (1994), eq. (3.2) and (3.5):

    B = theta * I - W M W^T,   W = [Y, theta * S],
    M = [[-D, L^T], [L, theta * S^T S]]^-1,

with S and Y the last ``col`` corrections s_k = x_{k+1} - x_k and y_k = g_{k+1} - g_k
(oldest first), D = diag(s_k^T y_k), L the strictly lower triangle of S^T Y (L_ij = s_i^T y_j
for i > j) and theta = y^T y / s^T y of the newest pair. The n-vectors are kept in the
caller's dtype (float32 for images, halving memory and traffic); the col x col products,
M (``middle``) and M^-1 (``middle_inverse``) are float64, which costs nothing at this size.

Vectors of length 2*col ("W-space") are ordered [Y part, S part], oldest first, and the S part
carries the factor theta, as W does.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from stylize.lbfgsb_lanes import Lanes


class Memory:
    """The last ``size`` correction pairs of an n-variable problem and the matrix M."""

    def __init__(self, n: int, size: int, dtype, lanes: Lanes | None = None):
        self.size = size
        self.lanes = lanes or Lanes(n)  # how the passes over n values are shared out
        # Slot k holds [y_k, s_k] next to each other, so the filled slots form one
        # contiguous (2 * col, n) matrix and each product with all of them is one BLAS call.
        self.rows = np.zeros((size, 2, n), dtype=dtype)
        self.ss = np.zeros((size, size))  # slot-indexed s_i . s_j
        self.sy = np.zeros((size, size))  # slot-indexed s_i . y_j
        self.yy = np.zeros((size, size))  # slot-indexed y_i . y_j
        self.reset()

    def reset(self) -> None:
        """Forget every correction: B becomes the identity (theta = 1)."""
        self.col, self.head, self.theta = 0, 0, 1.0
        self.middle = self.middle_inverse = np.zeros((0, 0))

    @property
    def order(self) -> np.ndarray:
        """Slots of the stored pairs, oldest first."""
        return (self.head + np.arange(self.col)) % self.size

    def _stacked(self) -> np.ndarray:
        return self.rows[: self.col].reshape(2 * self.col, -1)

    def products(self, v: np.ndarray) -> np.ndarray:
        """[y_k . v, s_k . v] for every filled slot k: (col, 2) float64, slot order."""
        stacked = self._stacked()
        # einsum, not BLAS: two single-thread sgemv calls at once ran slower than one
        # (OpenBLAS 0.3.31), while two einsum halves take 1.34 ms against sgemv's 1.55
        # over the 29 MB of a full memory (Intel Xeon with AMX, caches flushed).
        parts = self.lanes.run(lambda part: np.einsum("ij,j->i", stacked[:, part], v[part]))
        return np.sum(parts, axis=0, dtype=np.float64).reshape(self.col, 2)

    def sparse_products(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``products`` of the vector that is ``values`` (len(indices),) on ``indices`` and
        0 elsewhere, reading only those columns of the memory."""
        picked = self._stacked()[:, indices] @ values.astype(self.rows.dtype)
        return picked.reshape(self.col, 2).astype(np.float64)

    def to_w_space(self, by_slot: np.ndarray) -> np.ndarray:
        """W^T v from the slot-order products of v (``products``)."""
        chrono = by_slot[self.order]
        return np.concatenate([chrono[:, 0], self.theta * chrono[:, 1]])

    def to_slots(self, w_space: np.ndarray) -> np.ndarray:
        """The slot-order products [y_k . v, s_k . v] of a v with W^T v = ``w_space``."""
        by_slot = np.empty((self.col, 2))
        by_slot[self.order, 0] = w_space[: self.col]
        by_slot[self.order, 1] = w_space[self.col :] / self.theta
        return by_slot

    def project(self, v: np.ndarray) -> np.ndarray:
        """W^T v for an n-vector v: the 2*col W-space vector [Y^T v, theta * S^T v]."""
        return self.to_w_space(self.products(v))

    def expand(self, a: np.ndarray) -> np.ndarray:
        """W a for a W-space vector a: the n-vector Y a_y + theta * S a_s."""
        out = np.empty(self.rows.shape[2], self.rows.dtype)
        self.lanes.run(self.expansion(a, out))
        return out

    def expansion(self, a: np.ndarray, out: np.ndarray):
        """The work of ``expand`` as a function of a part (slice), writing W a into ``out``
        there, for callers that go on with the part in the same lane."""
        coefficients = np.zeros((self.col, 2))
        coefficients[self.order, 0] = a[: self.col]
        coefficients[self.order, 1] = self.theta * a[self.col :]
        coefficients = coefficients.reshape(-1).astype(self.rows.dtype)
        stacked = self._stacked()
        return lambda part: np.matmul(coefficients, stacked[:, part], out=out[part])

    def rows_of(self, indices: np.ndarray) -> np.ndarray:
        """The rows of W for variables ``indices``: (len(indices), 2*col) float64."""
        picked = self._stacked()[:, indices].reshape(self.col, 2, -1)[self.order]
        picked = picked.astype(np.float64)  # (col, 2, k)
        return np.concatenate([picked[:, 0].T, self.theta * picked[:, 1].T], axis=1)

    def gram_of(self, mask: np.ndarray, outside: np.ndarray | None = None) -> np.ndarray:
        """W_Z^T W_Z over the variables where ``mask`` is True, (2*col, 2*col) float64,
        summed over whichever of the set or its complement is smaller. ``outside``, the
        indices where ``mask`` is False if the caller has them, saves a pass over it."""
        if outside is None:
            outside = np.flatnonzero(~mask)
        if 2 * outside.size < mask.size:
            return self.gram_full() - self._gram_over(outside)
        return self._gram_over(np.flatnonzero(mask))

    def _gram_over(self, indices: np.ndarray) -> np.ndarray:
        picked = self._stacked()[:, indices]
        by_slot = (picked @ picked.T).astype(np.float64).reshape(self.col, 2, self.col, 2)
        return self._to_w_space(by_slot)

    def gram_full(self) -> np.ndarray:
        """W^T W over all n variables, from the stored products."""
        slots = np.arange(self.col)
        by_slot = np.empty((self.col, 2, self.col, 2))
        grid = np.ix_(slots, slots)
        by_slot[:, 0, :, 0] = self.yy[grid]
        by_slot[:, 0, :, 1] = self.sy[grid].T  # y_i . s_j = s_j . y_i
        by_slot[:, 1, :, 0] = self.sy[grid]
        by_slot[:, 1, :, 1] = self.ss[grid]
        return self._to_w_space(by_slot)

    def _to_w_space(self, by_slot: np.ndarray) -> np.ndarray:
        order = self.order
        chrono = by_slot[order][:, :, order]  # (col, 2, col, 2), oldest first
        blocks = chrono.transpose(1, 0, 3, 2).reshape(2 * self.col, 2 * self.col)
        scale = np.concatenate([np.ones(self.col), np.full(self.col, self.theta)])
        return blocks * scale[:, None] * scale[None, :]

    def chrono(self, matrix: np.ndarray) -> np.ndarray:
        """A slot-indexed col x col product reordered oldest first."""
        order = self.order
        return matrix[np.ix_(order, order)]

    def add(self, s, y, sy: float, yy: float, ss: float, known=None) -> int | None:
        """Store the pair (s, y) with s.y = ``sy``, y.y = ``yy``, s.s = ``ss`` (as the caller
        computed them), dropping the oldest when full, and rebuild M. ``known`` may give
        the pair's products with the stored pairs, (products of s, products of y) as
        ``products`` would return them before the call, which saves two passes over the
        memory. Returns the slot used, or None when theta*S^T S + L D^-1 L^T is not
        positive definite (the caller then resets)."""
        if known is None and self.col:
            known = self.products(s), self.products(y)
        stored = np.arange(self.col)
        if self.col < self.size:
            slot = self.col
            self.col += 1
        else:
            slot = self.head
            self.head = (self.head + 1) % self.size
        self.lanes.run(lambda part: self._store(slot, part, s, y))
        if stored.size:
            with_s, with_y = known
            self.sy[slot, stored] = with_s[:, 0]  # s . y_k
            self.sy[stored, slot] = with_y[:, 1]  # s_k . y
            self.ss[slot, stored] = self.ss[stored, slot] = with_s[:, 1]
            self.yy[slot, stored] = self.yy[stored, slot] = with_y[:, 0]
        self.sy[slot, slot], self.yy[slot, slot], self.ss[slot, slot] = sy, yy, ss
        self.theta = yy / sy
        return slot if self._form_middle() else None

    def _store(self, slot: int, part: slice, s: np.ndarray, y: np.ndarray) -> None:
        self.rows[slot, 0, part], self.rows[slot, 1, part] = y[part], s[part]

    def _form_middle(self) -> bool:
        """M and M^-1 = [[-D, L^T], [L, theta S^T S]]; M by the block inverse with Schur
        complement T = theta*S^T S + L D^-1 L^T."""
        sy = self.chrono(self.sy)
        d = np.diag(sy)
        lower = np.tril(sy, -1)
        theta_ss = self.theta * self.chrono(self.ss)
        t = theta_ss + (lower / d) @ lower.T
        try:
            factor = scipy.linalg.cho_factor(t)
        except np.linalg.LinAlgError:
            return False
        t_inv = scipy.linalg.cho_solve(factor, np.eye(self.col))
        upper_right = (lower.T / d[:, None]) @ t_inv  # D^-1 L^T T^-1
        upper_left = -np.diag(1.0 / d) + upper_right @ lower / d[None, :]
        self.middle = np.block([[upper_left, upper_right], [upper_right.T, t_inv]])
        self.middle_inverse = np.block([[-np.diag(d), lower.T], [lower, theta_ss]])
        return True
