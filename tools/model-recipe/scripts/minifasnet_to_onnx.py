"""MiniFASNet anti-spoofing (minivision-ai/Silent-Face-Anti-Spoofing, Apache-2.0) -> one ONNX file,
without PyTorch (the registries offer only CUDA builds of torch for Linux).

The upstream check runs two nets and sums their softmax: MiniFASNetV2 on the face box enlarged 2.7x
and MiniFASNetV1SE on it enlarged 4x, each resized to 80x80, BGR 0..255 (no /255), NCHW; class 1 is
a real face, 0 a print, 2 a replay. This script builds both nets into one graph with two inputs,
`crop27` and `crop40` ([batch, 3, 80, 80] each), and outputs `live` ([batch], the mean of the two
real-face probabilities, upstream's score) and `probs27` / `probs40` ([batch, 3]).

How: the weights are PyTorch's legacy (pre-zip) pickles, read here with the standard library (a
pickle whose tensors point at storages written after it). The graph follows upstream
src/model_lib/MiniFASNet.py in eval mode: each BatchNorm folded into its convolution, dropout gone,
linear -> BatchNorm1d -> prob folded into one affine map, and PReLU written as y + (a-1)*min(y,0)
(ONNX Runtime's CPU PRelu is slow; see mtcnn_prelu_rewrite.py). The result is checked against a
plain-numpy forward pass of the unfolded nets (float64) on random and real inputs; the output is
byte-reproducible for a given onnx version.

Usage: python minifasnet_to_onnx.py WEIGHTS_DIR OUT.onnx
       (WEIGHTS_DIR holds 2.7_80x80_MiniFASNetV2.pth and 4_0_0_80x80_MiniFASNetV1SE.pth, sha256-checked)
Needs: onnx==1.17.0, numpy, onnxruntime (for the check).
"""

import collections
import hashlib
import os
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WEIGHTS = {
    "2.7_80x80_MiniFASNetV2.pth": "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
    "4_0_0_80x80_MiniFASNetV1SE.pth": "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
}
EPS = 1e-5  # BatchNorm's default eps, which upstream keeps

# ---------- PyTorch's legacy serialisation, read without torch ----------
_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "LongStorage": np.int64, "IntStorage": np.int32}
_MAGIC = 0x1950A86A20F9469CFC6C


class _Storage:
    def __init__(self, dtype):
        self.dtype, self.data = dtype, None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        item = self.storage.data.itemsize
        flat = self.storage.data[self.offset :]
        return np.lib.stride_tricks.as_strided(flat, self.size, [s * item for s in self.stride]).copy()


def load_state_dict(path):
    storages = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return lambda storage, offset, size, stride, *_: _Tensor(storage, offset, size, stride)
            if module == "torch" and name in _DTYPES:
                return name
            if module == "collections" and name == "OrderedDict":
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"unexpected {module}.{name} in a state_dict")

        def persistent_load(self, pid):
            kind, type_name, key, _location, _numel, view = pid
            assert kind == "storage" and view is None, pid
            return storages.setdefault(key, _Storage(_DTYPES[type_name]))

    with open(path, "rb") as f:
        assert pickle.load(f) == _MAGIC, f"{path}: not a legacy PyTorch file"
        pickle.load(f), pickle.load(f)  # protocol version, system info
        state = Unpickler(f).load()
        for key in pickle.load(f):
            s = storages[key]
            (n,) = struct.unpack("<q", f.read(8))
            s.data = np.frombuffer(f.read(n * np.dtype(s.dtype).itemsize), dtype=s.dtype)
        assert f.read(1) == b"", f"{path}: bytes left after the storages"
    # saved from DataParallel: keys may carry "module."
    return collections.OrderedDict((k.removeprefix("module."), v.array()) for k, v in state.items())


# ---------- the architecture (upstream MiniFASNet.py), as a list of units ----------
STRIDED = {"conv1", "conv_23.conv_dw", "conv_34.conv_dw", "conv_45.conv_dw"}


def units(sd):
    """The forward order: (kind, prefix); kind cb = conv+bn+prelu, lb = conv+bn, dw = a
    downsampling Depth_Wise, res = a residual Depth_Wise (with an SE module in the SE nets)."""
    out = [("cb", "conv1"), ("cb", "conv2_dw")]
    for stage, down in (("conv_3", "conv_23"), ("conv_4", "conv_34"), ("conv_5", "conv_45")):
        out.append(("dw", down))
        i = 0
        while f"{stage}.model.{i}.conv.conv.weight" in sd:
            out.append(("res", f"{stage}.model.{i}"))
            i += 1
    return out + [("cb", "conv_6_sep"), ("lb", "conv_6_dw")]


def conv_shape(sd, p):
    w = sd[f"{p}.conv.weight"]
    k = w.shape[2]
    groups = w.shape[0] if w.shape[1] == 1 and w.shape[0] > 1 else 1  # depthwise
    pad = 0 if p == "conv_6_dw" else k // 2  # the last 5x5 depthwise conv reduces 5x5 to 1x1
    return k, groups, pad, 2 if p in STRIDED else 1


# ---------- numpy reference: PyTorch's eval forward, unfolded, float64 ----------
def _conv(x, w, stride, pad, groups):
    n, _, h, wd = x.shape
    o, cg, k, _ = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs = x[:, g * cg : (g + 1) * cg]
        cols = np.stack([xs[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] for i in range(k) for j in range(k)], axis=2)
        out[:, g * og : (g + 1) * og] = np.einsum("nckhw,ock->nohw", cols, w[g * og : (g + 1) * og].reshape(og, cg, k * k))
    return out


def _bn(x, sd, p):
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    r = lambda n: sd[f"{p}.{n}"].astype(np.float64).reshape(shape)
    return (x - r("running_mean")) / np.sqrt(r("running_var") + EPS) * r("weight") + r("bias")


def _unit(x, sd, p, act):
    k, groups, pad, stride = conv_shape(sd, p)
    x = _bn(_conv(x, sd[f"{p}.conv.weight"].astype(np.float64), stride, pad, groups), sd, f"{p}.bn")
    if not act:
        return x
    a = sd[f"{p}.prelu.weight"].astype(np.float64).reshape(1, -1, 1, 1)
    return np.where(x > 0, x, a * x)


def reference(sd, x):
    x = x.astype(np.float64)
    for kind, p in units(sd):
        if kind in ("cb", "lb"):
            x = _unit(x, sd, p, kind == "cb")
            continue
        y = _unit(_unit(_unit(x, sd, f"{p}.conv", True), sd, f"{p}.conv_dw", True), sd, f"{p}.project", False)
        if kind == "res":
            q = f"{p}.se_module"
            if f"{q}.fc1.weight" in sd:
                s = y.mean(axis=(2, 3), keepdims=True)
                s = np.maximum(_bn(_conv(s, sd[f"{q}.fc1.weight"].astype(np.float64), 1, 0, 1), sd, f"{q}.bn1"), 0)
                s = _bn(_conv(s, sd[f"{q}.fc2.weight"].astype(np.float64), 1, 0, 1), sd, f"{q}.bn2")
                y = y / (1 + np.exp(-s))
            y = x + y
        x = y
    x = x.reshape(len(x), -1)
    if sd["linear.weight"].shape[0] != 512:  # upstream skips `linear` when the embedding is 512
        x = x @ sd["linear.weight"].astype(np.float64).T
    x = _bn(x, sd, "bn") @ sd["prob.weight"].astype(np.float64).T
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------- the ONNX graph ----------
class Graph:
    def __init__(self, prefix):
        self.prefix, self.nodes, self.inits = prefix, [], []

    def const(self, name, arr):
        name = f"{self.prefix}{name}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def op(self, op, inputs, out=None, **attrs):
        out = out or f"{self.prefix}{op.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _folded(sd, conv_w, bn):
    scale = sd[f"{bn}.weight"] / np.sqrt(sd[f"{bn}.running_var"].astype(np.float64) + EPS)
    return sd[conv_w].astype(np.float64) * scale.reshape(-1, 1, 1, 1), sd[f"{bn}.bias"] - sd[f"{bn}.running_mean"] * scale


def _g_unit(g, sd, x, p, act):
    k, groups, pad, s = conv_shape(sd, p)
    w, b = _folded(sd, f"{p}.conv.weight", f"{p}.bn")
    y = g.op("Conv", [x, g.const(f"{p}.w", w), g.const(f"{p}.b", b)], kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4, group=groups)
    if not act:
        return y
    a1 = g.const(f"{p}.a_minus_1", sd[f"{p}.prelu.weight"].astype(np.float64).reshape(-1, 1, 1) - 1)
    neg = g.op("Min", [y, g.const(f"{p}.zero", np.zeros(1))])
    return g.op("Add", [y, g.op("Mul", [neg, a1])])


def build(sd, g, x):
    for kind, p in units(sd):
        if kind in ("cb", "lb"):
            x = _g_unit(g, sd, x, p, kind == "cb")
            continue
        y = _g_unit(g, sd, _g_unit(g, sd, _g_unit(g, sd, x, f"{p}.conv", True), f"{p}.conv_dw", True), f"{p}.project", False)
        if kind == "res":
            q = f"{p}.se_module"
            if f"{q}.fc1.weight" in sd:
                w1, b1 = _folded(sd, f"{q}.fc1.weight", f"{q}.bn1")
                w2, b2 = _folded(sd, f"{q}.fc2.weight", f"{q}.bn2")
                s = g.op("GlobalAveragePool", [y])
                s = g.op("Relu", [g.op("Conv", [s, g.const(f"{q}.w1", w1), g.const(f"{q}.b1", b1)], kernel_shape=[1, 1])])
                s = g.op("Sigmoid", [g.op("Conv", [s, g.const(f"{q}.w2", w2), g.const(f"{q}.b2", b2)], kernel_shape=[1, 1])])
                y = g.op("Mul", [y, s])
            y = g.op("Add", [x, y])
        x = y
    x = g.op("Flatten", [x], axis=1)
    # linear (no bias) -> BatchNorm1d -> prob (no bias) is one affine map: W2 diag(a) W1 x + W2 c
    scale = sd["bn.weight"] / np.sqrt(sd["bn.running_var"].astype(np.float64) + EPS)
    shift = sd["bn.bias"] - sd["bn.running_mean"] * scale
    w1 = sd["linear.weight"].astype(np.float64) if sd["linear.weight"].shape[0] != 512 else np.eye(512)
    w2 = sd["prob.weight"].astype(np.float64)
    logits = g.op("Gemm", [x, g.const("fc.w", (w2 * scale) @ w1), g.const("fc.b", w2 @ shift)], transB=1)
    return g.op("Softmax", [logits], out=f"probs{g.prefix.rstrip('.').removeprefix('net')}", axis=1)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(weights_dir, out):
    nets = []
    for (name, pinned), prefix, inp in zip(WEIGHTS.items(), ("net27.", "net40."), ("crop27", "crop40")):
        path = os.path.join(weights_dir, name)
        got = sha256(path)
        assert got == pinned, f"{path}: sha256 {got}, expected {pinned}"
        nets.append((load_state_dict(path), Graph(prefix), inp))
    nodes, inits, outs = [], [], []
    for sd, g, inp in nets:
        outs.append(build(sd, g, inp))
        nodes += g.nodes
        inits += g.inits
    top = Graph("")
    top.inits.append(numpy_helper.from_array(np.array(1, np.int64), "real_class"))  # upstream's label 1
    real = [top.op("Gather", [p, "real_class"], out=f"real_{i}", axis=1) for i, p in enumerate(outs)]
    top.op("Mul", [top.op("Add", real), top.const("half", np.array(0.5))], out="live")
    shape = lambda n, *d: helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", *d])
    graph = helper.make_graph(
        nodes + top.nodes,
        "minifasnet_v2_2.7+v1se_4.0",
        [shape("crop27", 3, 80, 80), shape("crop40", 3, 80, 80)],
        [shape("live"), shape("probs27", 3), shape("probs40", 3)],
        inits + top.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="rollcall tools/model-recipe/scripts/minifasnet_to_onnx.py")
    model.ir_version = 8
    for k, v in {
        "source": "minivision-ai/Silent-Face-Anti-Spoofing@b6d5f04ad78778917853b25c778acef6d5626d15 resources/anti_spoof_models (Apache-2.0)",
        "input": "crop27, crop40: float32 NCHW [batch,3,80,80] BGR 0..255, the face box enlarged 2.7x / 4x (kept inside the picture), resized",
        "output": "live [batch] = mean real-face probability of the two nets; probs27/probs40 [batch,3] = print, real, replay",
    }.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, out)

    import onnxruntime as ort

    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch in (1, 5):
        x27, x40 = (rng.uniform(0, 255, (batch, 3, 80, 80)).astype(np.float32) for _ in range(2))
        live, p27, p40 = sess.run(["live", "probs27", "probs40"], {"crop27": x27, "crop40": x40})
        r27, r40 = reference(nets[0][0], x27), reference(nets[1][0], x40)
        worst = max(worst, np.abs(p27 - r27).max(), np.abs(p40 - r40).max(), np.abs(live - (r27[:, 1] + r40[:, 1]) / 2).max())
    assert worst < 1e-5, worst
    print(f"{out}: {os.path.getsize(out)} bytes, sha256 {sha256(out)}; max abs difference from the numpy reference {worst:.1e}")


if __name__ == "__main__":
    main(*sys.argv[1:])
