import pytest

from stylize import device
from stylize.errors import DeviceError


def test_cpu_is_always_available():
    assert device.resolve_device("cpu") == device.CPU


def test_auto_falls_back_to_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(device, "visible_gpus", lambda: [])
    assert device.resolve_device("auto") == device.CPU


def test_auto_takes_a_visible_gpu(monkeypatch):
    monkeypatch.setattr(device, "visible_gpus", lambda: ["/physical_device:GPU:0"])
    assert device.resolve_device("auto") == device.GPU


def test_gpu_without_one_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(device, "visible_gpus", lambda: [])
    with pytest.raises(DeviceError, match="--device gpu.*sees no GPU"):
        device.resolve_device("gpu")


def test_gpu_sessions_grow_memory_on_demand():
    config = device.session_config(device.GPU)
    assert config.gpu_options.allow_growth
    assert config.device_count.get("GPU", 1) != 0


def test_cpu_sessions_hide_gpus():
    assert device.session_config(device.CPU).device_count["GPU"] == 0
