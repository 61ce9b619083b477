import numpy as np
import pytest
from conftest import require_bfloat16_tensorflow
from scipy.signal import correlate

from stylize._tf import tf
from stylize.synthetic import REAL_CONV_WIDTHS, write_vgg19_mat
from stylize.vgg import WeightVariables, build_vgg
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


def _run_with_variables(weights, x, dtype):
    with tf.Graph().as_default(), tf.Session() as session:
        image = tf.constant(x)
        variables = WeightVariables(weights, "relu5_1", dtype)
        net = build_vgg(weights, image, deepest="relu5_1", variables=variables)
        session.run(variables.initializer, variables.feed)
        dtypes = {name: tensor.dtype for name, tensor in net.items()}
        return dtypes, session.run(tf.cast(net["relu5_1"], tf.float32))


def test_bfloat16_layers_compute_the_same_network_to_bfloat16_rounding(vgg_file):
    require_bfloat16_tensorflow()
    weights = load_vgg19(vgg_file, "relu5_1")
    x = np.random.default_rng(0).normal(0, 50, (1, 32, 40, 3)).astype(np.float32)
    dtypes32, full = _run_with_variables(weights, x, tf.float32)
    dtypes16, half = _run_with_variables(weights, x, tf.bfloat16)
    assert set(dtypes32.values()) == {tf.float32}
    assert dtypes16.pop("input") == tf.float32  # the image variable stays float32
    assert set(dtypes16.values()) == {tf.bfloat16}
    # bfloat16 keeps 8 significant bits (relative rounding 2^-9) through 13 layers
    scale = np.abs(full).max()
    assert scale > 0
    assert np.abs(half - full).max() < 0.05 * scale
    assert not np.array_equal(half, full)


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
