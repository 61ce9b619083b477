"""Gatys et al. cost functions, as pure functions of TensorFlow tensors.

Activations are (1, n_H, n_W, n_C) tensors. Formulas follow the classic notebook:

* content:  J_content = sum((a_C - a_G)^2) / (4 n_H n_W n_C)
* content as Gatys et al. (2016, eq. 1) write it: L_content = sum((a_C - a_G)^2) / 2,
  4 n_H n_W n_C / 2 times J_content, so that their alpha/beta ratios (1e-3, 1e-4) hold
* Gram:     G = A A^T with A the (n_C, n_H n_W) unrolled activations
* style, one layer: J = sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2)
* guided Gram (Gatys et al. 2017, spatial control): G_k = (A * m_k)(A * m_k)^T / sum(m_k^2)
  with m_k region k's mask at the layer's resolution, one weight per position
* style:    J_style = sum_l lambda_l J_style^l
* total:    J = alpha J_content + beta J_style

A Gram is a sum over positions, G = sum_p f_p f_p^T, so the Grams of the tiles of an image
add up to the image's own (``gram_sum``): the tiled path (stylize.tiled) builds on that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from stylize._tf import tf


def _per_count(total, tensor, axes: tuple[int, ...], factor: float = 1.0):
    """``total / (factor * n)``, n the product of ``tensor``'s sizes along ``axes``. A graph
    that serves every image size knows no height or width, so n is then computed per run
    (in integers, rounded to float32 once). Grappler turns a division by a constant into a
    product with the constant's float32 reciprocal; the same product here gives both kinds
    of graph the same bits."""
    sizes = [tensor.get_shape().as_list()[axis] for axis in axes]
    if None not in sizes:
        return total / (factor * math.prod(sizes))
    count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(tensor, out_type=tf.int64), axes)),
                    tf.float32)  # fmt: skip
    return total * (1.0 / (factor * count))


def content_cost(a_content, a_generated):
    """Content cost between two activations of the same (1, n_H, n_W, n_C) shape; scalar."""
    return content_cost_of(squared_distance(a_content, a_generated), a_generated)


def content_cost_of(distance, a_generated):
    """The content cost from the squared distance sum((a_C - a_G)^2) of a (1, n_H, n_W,
    n_C) a_G and its target: distance / (4 n_H n_W n_C); scalar. Taking the distance lets
    the paper's loss (``paper_content_cost``) share it."""
    return _per_count(distance, a_generated, (1, 2, 3), factor=4.0)


def paper_content_cost(distance):
    """Gatys et al.'s content loss from the squared distance sum((a_C - a_G)^2): distance
    / 2; scalar. Unlike the content cost it grows with the layer's size, as their
    alpha/beta ratio assumes."""
    return distance / 2.0


def unroll(activation):
    """(1, n_H, n_W, n_C) activation -> (n_C, n_H * n_W) matrix, one row per channel."""
    return tf.transpose(tf.reshape(activation, [-1, activation.shape[-1]]))


def gram_matrix(unrolled):
    """Gram matrix G = A A^T of an (n_C, M) matrix; shape (n_C, n_C)."""
    return tf.matmul(unrolled, unrolled, transpose_b=True)


def normalized_gram(activation):
    """Gram matrix of an activation divided by its n_H * n_W; shape (n_C, n_C), float32.

    Dividing by each image's own pixel count lets a style image of another size be compared.
    The activation may be bfloat16 (see ``gram_sum``).
    """
    return _per_count(gram_sum(activation), activation, (1, 2))


def guided_gram(activation, mask):
    """Gram matrix of a (1, n_H, n_W, n_C) activation with each position weighted by an
    (n_H, n_W) mask, divided by sum(mask^2); shape (n_C, n_C), float32. With a mask of ones
    it is ``normalized_gram``. The mask must not be all zero (the caller refuses such a
    mask)."""
    weights = tf.cast(mask, tf.float32)[None, :, :, None]
    return gram_sum(activation, weights) / tf.reduce_sum(tf.square(weights))


def _bfloat16_gram(rows):
    """F^T F of a bfloat16 (M, n_C) F, float32, to ~2^-17 relative rather than bfloat16's
    2^-9. oneDNN's bfloat16 product accumulates in float32 but can only return bfloat16, so
    the Gram is taken twice: G1 = F^T F rounded, then [F; I]^T [F; -G1] = F^T F - G1 in one
    product whose float32 sum cancels G1 before the rounding, which then only touches the
    small remainder. G = G1 + remainder, in float32."""
    first = tf.matmul(rows, rows, transpose_a=True)
    identity = tf.eye(int(rows.shape[-1]), dtype=rows.dtype)
    remainder = tf.matmul(tf.concat([rows, identity], 0), tf.concat([rows, -first], 0),
                          transpose_a=True)  # fmt: skip
    return tf.cast(first, tf.float32) + tf.cast(remainder, tf.float32)


@tf.custom_gradient
def _gram_of_rows(rows):
    """F^T F of an (M, n_C) matrix F, one row per position, as float32 (n_C, n_C).

    The products run in F's dtype: for bfloat16 on the CPU's bfloat16 units (see
    ``_bfloat16_gram``). The gradient is written out because d<U, F^T F>/dF = F (U + U^T)
    is one product, where differentiating the matmul gives two (F U and F U^T) and a sum.
    """
    if rows.dtype == tf.float32:
        value = tf.matmul(rows, rows, transpose_a=True)
    else:
        value = _bfloat16_gram(rows)

    def gradient(upstream):
        return tf.matmul(rows, tf.cast(upstream + tf.transpose(upstream), rows.dtype))

    return value, gradient


def gram_sum(activation, weights=None):
    """The un-normalized Gram sum_p w_p^2 f_p f_p^T over the positions p of a (1, h, w, n_C)
    activation of any h and w (w_p = 1 without ``weights``, else the (1, h, w, 1) weights:
    a guided Gram's numerator); shape (n_C, n_C), float32 whatever the activation's dtype
    (float32 or bfloat16). Equal to ``gram_matrix(unroll(activation))``, computed without
    the transpose."""
    rows = tf.reshape(activation, [-1, activation.shape[-1]])
    if weights is not None:
        rows = rows * tf.reshape(tf.cast(weights, activation.dtype), [-1, 1])
    return _gram_of_rows(rows)


def squared_distance(a, b):
    """sum((a - b)^2) of two tensors of one shape, any shape: the content cost's numerator."""
    return tf.reduce_sum(tf.square(a - b))


def gram_style_cost(normalized_gram_style, normalized_gram_generated):
    """One layer's style cost from two normalized Grams (n_C, n_C); scalar.

    Equal to sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2) when both images have the same size.
    """
    n_c = normalized_gram_generated.get_shape().as_list()[0]
    diff = normalized_gram_style - normalized_gram_generated
    return tf.reduce_sum(tf.square(diff)) / (4.0 * n_c * n_c)


def layer_style_cost(a_style, a_generated):
    """One layer's style cost between two (1, n_H, n_W, n_C) activations; scalar."""
    return gram_style_cost(normalized_gram(a_style), normalized_gram(a_generated))


def style_cost(weighted_layer_costs: Iterable[tuple[float, object]]):
    """Sum of lambda_l * J_style^l over (lambda_l, layer cost) pairs; scalar."""
    return tf.add_n([weight * cost for weight, cost in weighted_layer_costs])


def total_cost(j_content, j_style, alpha: float = 10.0, beta: float = 40.0):
    """J = alpha * J_content + beta * J_style; scalar."""
    return alpha * j_content + beta * j_style


def total_variation(image):
    """Anisotropic total variation of a (1, H, W, C) image: sum of squared neighbour
    differences, divided by the number of pixels; scalar."""
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return _per_count(tf.reduce_sum(tf.square(dy)) + tf.reduce_sum(tf.square(dx)), image, (1, 2))


def temporal_cost(image, warped, consistency):
    """Short-term temporal consistency (Ruder, Dosovitskiy and Brox, "Artistic style transfer
    for videos", 2016, eq. 7): (1 / D) * sum_k c_k * (x_k - w_k)^2 over the D = H * W * C
    values of the (1, H, W, C) image x, where w is the previous stylized frame warped into
    this one by the optical flow and c, (1, H, W, 1) in [0, 1], is 0 where the flow is not
    to be trusted (disocclusions, motion boundaries); scalar, squared pixel levels."""
    return _per_count(tf.reduce_sum(consistency * tf.square(image - warped)), image, (1, 2, 3))
