import numpy as np
import pytest
from scipy.signal import correlate

from stylize._tf import tf
from stylize.synthetic import REAL_CONV_WIDTHS, write_vgg19_mat
from stylize.vgg import build_vgg
from stylize.weights import VGG19_LAYERS, load_vgg19


def _build(weights, shape=(1, 24, 32, 3), **kwargs):
    graph = tf.Graph()
    with graph.as_default():
        image = tf.Variable(np.zeros(shape, np.float32), use_resource=True)
        net = build_vgg(weights, image, **kwargs)
    return graph, image, net


def test_graph_stops_at_the_deepest_layer_asked(vgg_file):
    graph, _, net = _build(load_vgg19(vgg_file), deepest="conv4_2")
    assert list(net)[-1] == "conv4_2"
    op_names = {op.name for op in graph.get_operations()}
    assert not any("conv4_3" in name or "conv5" in name for name in op_names)


def test_graph_stops_before_the_fully_connected_layers(vgg_file):
    _, _, net = _build(load_vgg19(vgg_file))
    assert list(net) == ["input", *VGG19_LAYERS[: VGG19_LAYERS.index("pool5") + 1]]


def test_shapes_halve_at_each_pooling(vgg_file):
    _, _, net = _build(load_vgg19(vgg_file), shape=(1, 24, 32, 3))
    assert net["conv1_1"].shape.as_list() == [1, 24, 32, 4]
    assert net["conv2_1"].shape.as_list() == [1, 12, 16, 6]
    assert net["conv4_2"].shape.as_list() == [1, 3, 4, 8]
    assert net["conv5_1"].shape.as_list() == [1, 2, 2, 8]  # SAME pooling rounds up


def test_first_layer_is_conv_plus_bias_then_relu(vgg_file):
    weights = load_vgg19(vgg_file, "relu1_1")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 6, 5, 3)).astype(np.float32)
    graph, image, net = _build(weights, shape=x.shape)
    with graph.as_default(), tf.Session() as session:
        session.run(tf.global_variables_initializer())
        image.load(x, session)
        conv, relu = session.run([net["conv1_1"], net["relu1_1"]])
    kernel, bias = weights.layers[0].kernel, weights.layers[0].bias
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    expected = (
        np.stack(
            [
                correlate(padded, kernel[..., o], mode="valid")[..., 0]
                for o in range(kernel.shape[3])
            ],
            axis=-1,
        )
        + bias
    )
    np.testing.assert_allclose(conv[0], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(relu, np.maximum(conv, 0))


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_pooling_choice(vgg_file, pooling):
    x = np.arange(2 * 2 * 3, dtype=np.float32).reshape(1, 2, 2, 3)
    graph, image, net = _build(load_vgg19(vgg_file, "pool1"), shape=x.shape, pooling=pooling)
    with graph.as_default(), tf.Session() as session:
        session.run(tf.global_variables_initializer())
        before, pooled = session.run([net["relu1_2"], net["pool1"]])
    reduce = np.mean if pooling == "avg" else np.max
    np.testing.assert_allclose(pooled[0, 0, 0], reduce(before[0], axis=(0, 1)), rtol=1e-5)


def test_unknown_pooling_is_refused(vgg_file):
    with pytest.raises(ValueError, match="pooling"):
        _build(load_vgg19(vgg_file, "pool1"), pooling="median")


@pytest.mark.slow
def test_real_vgg19_shapes_build_to_conv5_1(tmp_path):
    path = write_vgg19_mat(tmp_path / "real.mat", "new", REAL_CONV_WIDTHS, (8, 8, 10))
    weights = load_vgg19(path, "conv5_1")
    assert weights.layers[-1].kernel.shape == (3, 3, 512, 512)
    graph, _, net = _build(weights, shape=(1, 300, 400, 3))
    assert net["conv1_1"].shape.as_list() == [1, 300, 400, 64]
    assert net["conv4_2"].shape.as_list() == [1, 38, 50, 512]
    assert net["conv5_1"].shape.as_list() == [1, 19, 25, 512]
    convs = [op for op in graph.get_operations() if op.type == "Conv2D"]
    assert len(convs) == 13  # conv1_1 .. conv5_1
