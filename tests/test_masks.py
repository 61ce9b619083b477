"""Masks: reading, and bringing them to each layer's resolution as the network's pooling does."""

import numpy as np
import pytest
from PIL import Image

from stylize import masks
from stylize.errors import ImageError
from stylize.weights import load_vgg19


def test_a_mask_is_read_as_weights_0_to_1_at_the_output_size(tmp_path):
    levels = np.zeros((40, 60), np.uint8)
    levels[:, 30:] = 255
    levels[:, 20:30] = 128
    Image.fromarray(levels).save(tmp_path / "m.png")
    mask = masks.load_mask(tmp_path / "m.png", (30, 20))
    assert mask.shape == (20, 30) and mask.dtype == np.float32
    assert mask[:, :8].max() < 0.02 and mask[:, 17:].min() > 0.98
    assert mask[:, 11:14].mean() == pytest.approx(128 / 255, abs=0.02)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_masks_colour_profile_is_not_applied(tmp_path, icc_profile, mode):
    """Its levels are weights: a gray-gamma or RGB profile (which would turn level 128 into
    about 137 in sRGB) leaves them as stored."""
    space = b"GRAY" if mode == "L" else b"RGB "
    levels = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (16, 1))  # 16 x 32
    Image.fromarray(levels).convert(mode).save(
        tmp_path / "m.png", icc_profile=icc_profile("gamma 2.2", 563 / 256, space=space)
    )
    mask = masks.load_mask(tmp_path / "m.png", (32, 16))
    np.testing.assert_array_equal(mask, levels / np.float32(255))


def test_a_resized_mask_is_exact_wherever_a_pixel_lies_wholly_on_black_or_white(tmp_path):
    """Shrunk 100 -> 64 columns (a pixel spans 1.5625) and grown 20 -> 48 rows: columns
    whose span lies on the black half are 0 and on the white half 1, to the last pixel
    before the edge (Lanczos rang there: 11/255 on column 31)."""
    levels = np.zeros((20, 100), np.uint8)
    levels[:, 50:] = 255
    Image.fromarray(levels).save(tmp_path / "m.png")
    mask = masks.load_mask(tmp_path / "m.png", (64, 48))
    span = 100 / 64
    black = [j for j in range(64) if (j + 1) * span <= 50]
    white = [j for j in range(64) if j * span >= 50]
    assert black == list(range(32)) and white == list(range(32, 64))
    assert (mask[:, black] == 0).all() and (mask[:, white] == 1).all()


@pytest.mark.parametrize("size", [(64, 32), (48, 40), (40, 16)])
def test_a_grown_or_mixed_mask_is_exact_wherever_a_pixel_lies_wholly_on_black_or_white(size):
    """Growing 32 -> 64 or 48 columns (a pixel spans 1/2 or 2/3 of a mask column): column 31
    of 64 lies on mask columns [15.5, 16), all black, and was 1/6 with a linear filter."""
    mask = np.zeros((16, 32), np.float32)
    mask[:, 16:] = 1.0
    resized = masks.resize_mask(mask, size)
    span = 32 / size[0]
    for j in range(size[0]):
        if (j + 1) * span <= 16:
            assert (resized[:, j] == 0).all(), j
        elif j * span >= 16:
            assert (resized[:, j] == 1).all(), j


def test_an_unreadable_mask_is_an_image_error_naming_it(tmp_path):
    (tmp_path / "m.png").write_text("no image")
    with pytest.raises(ImageError, match="--style-mask 'm.png'|m.png"):
        masks.load_mask(tmp_path / "m.png", (30, 20), role="--style-mask")


def test_halving_averages_2x2_blocks_and_leaves_the_padding_out():
    mask = np.arange(15, dtype=np.float32).reshape(3, 5)
    expected = np.array([[(0 + 1 + 5 + 6) / 4, (2 + 3 + 7 + 8) / 4, (4 + 9) / 2],
                         [(10 + 11) / 2, (12 + 13) / 2, 14]], np.float32)  # fmt: skip
    np.testing.assert_allclose(masks.halve(mask), expected)


def test_layer_masks_have_each_layers_resolution(vgg_file):
    from stylize._tf import tf
    from stylize.vgg import build_vgg

    weights = load_vgg19(vgg_file, "relu5_1")
    mask = np.random.default_rng(0).uniform(0, 1, (37, 53)).astype(np.float32)
    names = ["conv1_1", "relu2_1", "conv3_1", "conv4_1", "conv5_1"]
    found = masks.layer_masks(mask, weights, names)
    with tf.Graph().as_default():
        net = build_vgg(weights, tf.zeros((1, 37, 53, 3)), "avg", "relu5_1")
        shapes = {name: tuple(net["relu" + name[4:]].shape.as_list()[1:3]) for name in names}
        pooled = tf.constant(mask.reshape(1, 37, 53, 1))
        for _ in range(4):
            pooled = tf.nn.avg_pool(pooled, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        with tf.Session() as session:
            conv5 = session.run(pooled)[0, :, :, 0]
    assert {name: m.shape for name, m in found.items()} == shapes
    np.testing.assert_allclose(found["conv5_1"], conv5, rtol=1e-5)  # as TensorFlow pools


def test_composite_keeps_the_content_exactly_where_black_at_8_and_16_bits():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    content = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    keep = np.tile(np.array([0.0, 1.0, 0.25, 0.5], np.float32), (6, 2))
    blend = keep[:, :, None] * image + (1 - keep[:, :, None]) * content.astype(np.float64)
    eight = masks.composite(image, content, keep)
    assert eight.dtype == np.uint8
    np.testing.assert_array_equal(eight, np.rint(blend))
    wide = image.astype(np.uint16) * 257 + 77
    sixteen = masks.composite(wide, content, keep)
    assert sixteen.dtype == np.uint16
    np.testing.assert_array_equal(sixteen[:, 0::4], content[:, 0::4].astype(np.uint16) * 257)
    np.testing.assert_array_equal(sixteen[:, 1::4], wide[:, 1::4])
    expected = keep[:, :, None] * wide + (1 - keep[:, :, None]) * (content * 257.0)
    np.testing.assert_array_equal(sixteen, np.rint(expected))


def test_a_16bit_content_is_taken_to_the_images_levels():
    rng = np.random.default_rng(6)
    content = rng.integers(0, 65536, (6, 8, 3), dtype=np.uint16)
    keep = np.zeros((6, 8), np.float32)
    keep[:, 4:] = 1.0
    wide = rng.integers(0, 65536, (6, 8, 3), dtype=np.uint16)
    sixteen = masks.composite(wide, content, keep)
    np.testing.assert_array_equal(sixteen[:, :4], content[:, :4])  # all 16 bits kept
    np.testing.assert_array_equal(sixteen[:, 4:], wide[:, 4:])
    eight = masks.composite(np.zeros((6, 8, 3), np.uint8), content, keep)
    assert eight.dtype == np.uint8
    np.testing.assert_array_equal(eight[:, :4], np.rint(content[:, :4] / 257))
