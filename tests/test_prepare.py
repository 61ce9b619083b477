"""What run and batch prepare alike before TensorFlow starts."""

import cv2
import numpy as np
import pytest

from stylize import prepare
from stylize.config import Settings
from stylize.errors import ImageError, WeightsError


def test_fit_content_scales_down_never_up():
    image = np.zeros((300, 400, 3), np.uint8)
    assert prepare.fit_content(image, "c.png", 200).shape == (150, 200, 3)
    assert prepare.fit_content(image, "c.png", 800) is image


def test_fit_content_refuses_an_output_under_16_pixels_naming_the_file_and_option():
    with pytest.raises(ImageError, match=r"'wide.png'.*--max-size 40.*40x8"):
        prepare.fit_content(np.zeros((100, 500, 3), np.uint8), "wide.png", 40)


def test_init_image_only_for_a_path(image_files):
    assert prepare.load_init_image(Settings(init="content")) is None
    loaded = prepare.load_init_image(Settings(init=str(image_files["style"])))
    assert loaded.shape == (40, 40, 3) and loaded.dtype == np.uint8
    with pytest.raises(ImageError, match="--init image"):
        prepare.load_init_image(Settings(init="no-such-file.png"))


def test_a_16bit_init_image_keeps_its_bits_with_bit_depth_16(tmp_path):
    deep = np.random.default_rng(2).integers(0, 65536, (20, 24, 3), dtype=np.uint16)
    path = tmp_path / "print.png"
    assert cv2.imwrite(str(path), deep[:, :, ::-1])
    np.testing.assert_array_equal(
        prepare.load_init_image(Settings(init=str(path), bit_depth=16)), deep
    )
    assert prepare.load_init_image(Settings(init=str(path))).dtype == np.uint8


def test_load_weights_keeps_the_layers_the_settings_use(vgg_file, tmp_path):
    weights, seconds = prepare.load_weights(vgg_file, Settings(style_layers=(("conv1_1", 1),)))
    assert weights.layer_names[-1] == "relu4_2" and seconds >= 0
    with pytest.raises(WeightsError, match="does not exist"):
        prepare.load_weights(tmp_path / "none.mat", Settings())
