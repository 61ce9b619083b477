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


def test_float32_needs_nothing_of_the_device():
    device.check_precision("float32", device.CPU, flags=frozenset())


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16", "bf16"])
def test_bfloat16_runs_on_cpus_that_compute_it(flag):
    device.check_precision("bfloat16", device.CPU, flags=frozenset({"avx2", flag}))


def test_bfloat16_is_refused_where_it_would_be_emulated():
    with pytest.raises(DeviceError, match="--precision bfloat16: this CPU has no native"):
        device.check_precision("bfloat16", device.CPU, flags=frozenset({"avx2", "avx512f"}))


def test_bfloat16_goes_ahead_where_the_flags_are_unknown(monkeypatch):
    monkeypatch.setattr(device, "cpu_flags", lambda: None)
    device.check_precision("bfloat16", device.CPU)


def test_resolving_the_cpu_checks_the_precision(monkeypatch):
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"sse2"}))
    assert device.resolve_device("cpu") == device.CPU
    with pytest.raises(DeviceError, match="--precision bfloat16"):
        device.resolve_device("cpu", "bfloat16")


@pytest.mark.parametrize(
    "flags, expected",
    [(frozenset({"avx512_bf16"}), "bfloat16"), (frozenset({"amx_bf16"}), "bfloat16"),
     (frozenset({"avx2"}), "float32"), (None, "float32")],
)  # fmt: skip
def test_auto_precision_is_bfloat16_only_on_a_cpu_that_computes_it(monkeypatch, flags, expected):
    monkeypatch.setattr(device, "cpu_flags", lambda: flags)
    assert device.concrete_precision("auto", device.CPU) == expected
    device.check_precision("auto", device.CPU)  # auto is never refused
    assert device.resolve_device("cpu", "auto") == device.CPU


GPU_CASES = [((7, 5), "float32"), ((8, 0), "bfloat16"), ((9, 0), "bfloat16"), (None, "float32")]


@pytest.mark.parametrize("capability, expected", GPU_CASES)
def test_auto_precision_on_a_gpu_follows_its_compute_capability(monkeypatch, capability, expected):
    monkeypatch.setattr(device, "gpu_compute_capability", lambda: capability)
    assert device.concrete_precision("auto", device.GPU) == expected


def test_a_concrete_precision_is_kept_as_asked(monkeypatch):
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert device.concrete_precision("float32", device.CPU) == "float32"
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx2"}))
    assert device.concrete_precision("bfloat16", device.CPU) == "bfloat16"


@pytest.mark.parametrize("capability, refused", [((7, 5), True), ((8, 0), False), (None, False)])
def test_bfloat16_on_a_gpu_needs_compute_capability_8(monkeypatch, capability, refused):
    monkeypatch.setattr(device, "gpu_compute_capability", lambda: capability)
    if refused:
        with pytest.raises(DeviceError, match=r"compute capability 7\.5.*8\.0 or newer"):
            device.check_precision("bfloat16", device.GPU)
    else:
        device.check_precision("bfloat16", device.GPU)


class FakeRun:
    """Stands in for subprocess.run: records the command, returns or raises as told."""

    def __init__(self, stdout="", returncode=0, error=None):
        self.stdout, self.returncode, self.error = stdout, returncode, error
        self.commands = []

    def __call__(self, command, **kwargs):
        self.commands.append(command)
        if self.error is not None:
            raise self.error
        import subprocess

        return subprocess.CompletedProcess(command, self.returncode, self.stdout, "")


def test_gpu_free_memory_reads_nvidia_smi_in_mib(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    run = FakeRun("23000\n11000\n")
    assert device.gpu_free_memory(run) == 23000 * 2**20
    assert run.commands[0][:2] == ["nvidia-smi", "--query-gpu=memory.free"]


def test_gpu_free_memory_asks_for_the_first_visible_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    run = FakeRun("9000\n")
    assert device.gpu_free_memory(run) == 9000 * 2**20
    assert run.commands[0][-1] == "--id=3"


@pytest.mark.parametrize(
    "run",
    [FakeRun(error=FileNotFoundError("nvidia-smi")), FakeRun("", returncode=9),
     FakeRun("[N/A]\n"), FakeRun("")],
    ids=["missing", "failing", "not-a-number", "empty"],
)  # fmt: skip
def test_gpu_free_memory_is_unknown_when_nvidia_smi_cannot_say(run):
    assert device.gpu_free_memory(run) is None
