"""Borrowing arrays from NumPy, PyTorch, CuPy, DLPack and the array interfaces.

An input array is never copied: the binding reads its address and checks its dtype,
shape, device and layout, with a message naming the argument. Supported:

* ``torch.Tensor`` (CPU or CUDA): ``data_ptr()``;
* ``numpy.ndarray`` and anything with ``__array_interface__``;
* anything with ``__cuda_array_interface__`` (CuPy, Numba, ...);
* anything with ``__dlpack__`` (JAX, TensorFlow, ...): taken through
  ``numpy.from_dlpack`` (CPU) or ``torch.from_dlpack``/``cupy.from_dlpack`` (CUDA),
  which share the producer's memory.

Host values the C library reads on the host (``offsets``, ``level_counts``,
``strides``) are small and are taken from any 1-D integer (or, for strides, real)
sequence: NumPy, CPU tensor or list.
"""

import sys

import numpy as np

from ._errors import argument_error

_KDL_CPU, _KDL_CUDA, _KDL_CUDA_HOST, _KDL_CUDA_MANAGED = 1, 2, 3, 13


class View:
    """A borrowed array: where it is and what it holds.

    ``device`` is ``None`` for host memory, else the CUDA ordinal (-1 when the
    producer does not say which device). ``kind`` is the family results are
    returned in: "numpy", "torch", "cupy" or "cuda" (another CUDA producer).
    """

    __slots__ = ("obj", "ptr", "shape", "dtype", "device", "kind", "contiguous")

    def __init__(self, obj, ptr, shape, dtype, device, kind, contiguous):
        self.obj, self.ptr, self.shape, self.dtype = obj, int(ptr or 0), tuple(shape), dtype
        self.device, self.kind, self.contiguous = device, kind, contiguous

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def where(self):
        """'host' or 'cuda:N', for messages."""
        if self.device is None:
            return "host"
        return "cuda" if self.device < 0 else "cuda:%d" % self.device


def torch_module():
    """PyTorch if the program has imported it (the binding never imports it first)."""
    return sys.modules.get("torch")


def is_torch(x):
    torch = torch_module()
    return torch is not None and isinstance(x, torch.Tensor)


def _c_contiguous(shape, strides, itemsize):
    """Whether byte strides describe a C-contiguous layout (size-1 dims are free)."""
    if strides is None:
        return True
    if any(d == 0 for d in shape):
        return True
    expected = itemsize
    for d, s in zip(reversed(shape), reversed(strides)):
        if d != 1 and s != expected:
            return False
        expected *= d
    return True


def _from_torch(t, name):
    dtype = str(t.dtype).replace("torch.", "")
    if t.device.type == "cpu":
        device = None
    elif t.device.type == "cuda":
        device = t.device.index if t.device.index is not None else 0
    else:
        raise argument_error("%s: a tensor on device %s; anchorassign takes CPU and CUDA tensors"
                             % (name, t.device))
    return View(t, t.data_ptr(), t.shape, dtype, device, "torch", t.is_contiguous())


def _from_numpy(a, name):
    if not a.dtype.isnative:
        raise argument_error("%s: dtype %s is not in native byte order" % (name, a.dtype.str))
    return View(a, a.__array_interface__["data"][0], a.shape, a.dtype.name, None, "numpy",
                a.flags.c_contiguous)


def _from_cai(x, name):
    cai = x.__cuda_array_interface__
    dtype = np.dtype(cai["typestr"])
    if not dtype.isnative:
        raise argument_error("%s: dtype %s is not in native byte order" % (name, dtype.str))
    module = type(x).__module__.split(".")[0]
    kind = "cupy" if module == "cupy" else "cuda"
    device = -1
    if kind == "cupy":
        device = int(x.device.id)
    shape = tuple(cai["shape"])
    return View(x, cai["data"][0], shape, dtype.name, device, kind,
                _c_contiguous(shape, cai.get("strides"), dtype.itemsize))


def _from_dlpack(x, name):
    dev_type, dev_id = x.__dlpack_device__()
    dev_type = int(dev_type)
    if dev_type in (_KDL_CPU, _KDL_CUDA_HOST):
        return _from_numpy(np.from_dlpack(x), name)
    if dev_type in (_KDL_CUDA, _KDL_CUDA_MANAGED):
        torch = torch_module()
        if torch is None:
            try:
                import torch  # noqa: F811 - a CUDA DLPack producer without torch loaded yet
            except ImportError:
                torch = None
        if torch is not None:
            return _from_torch(torch.from_dlpack(x), name)
        try:
            import cupy
        except ImportError:
            raise argument_error("%s: a CUDA DLPack array (device %d); taking it needs PyTorch "
                                 "or CuPy, and neither is installed" % (name, dev_id)) from None
        return _from_cai(cupy.from_dlpack(x), name)
    raise argument_error("%s: a DLPack array on device type %d; anchorassign takes host and "
                         "CUDA memory" % (name, dev_type))


def view(x, name):
    """Borrows ``x`` (no copy); raises :class:`Error` naming ``name`` if it is no array."""
    if is_torch(x):
        return _from_torch(x, name)
    if isinstance(x, np.ndarray):
        return _from_numpy(x, name)
    if hasattr(x, "__cuda_array_interface__"):
        return _from_cai(x, name)
    if hasattr(x, "__array_interface__"):
        return _from_numpy(np.asarray(x), name)  # shares the producer's memory
    if hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__"):
        return _from_dlpack(x, name)
    raise argument_error("%s: expected an array (NumPy, PyTorch, DLPack, __cuda_array_interface__ "
                         "or __array_interface__), got %s" % (name, type(x).__name__))


def check(v, name, dtypes, shape, hint=""):
    """Checks dtype, shape (None entries are free) and layout of a view.

    dtypes: a tuple of accepted dtype names, the first being the one to name in the
    message. Returns the view.
    """
    if v.dtype not in dtypes:
        raise argument_error("%s: expected dtype %s, got %s%s" %
                             (name, " or ".join(dtypes), v.dtype, hint))
    if len(v.shape) != len(shape) or any(e is not None and e != d for e, d in zip(shape, v.shape)):
        dims = ", ".join("n" if e is None else str(e) for e in shape)
        want = "(" + dims + ("," if len(shape) == 1 else "") + ")"
        raise argument_error("%s: expected shape %s, got %s" % (name, want, tuple(v.shape)))
    if not v.contiguous:
        raise argument_error("%s: must be C-contiguous (use .contiguous() or "
                             "numpy.ascontiguousarray)" % name)
    itemsize = 2 if v.dtype == "bfloat16" else np.dtype(v.dtype).itemsize  # NumPy lacks bfloat16
    if v.size and v.ptr % itemsize:
        raise argument_error("%s: address %#x is not aligned to its %d-byte elements" %
                             (name, v.ptr, itemsize))
    return v


def _host_array(x, name):
    torch = torch_module()
    if torch is not None and isinstance(x, torch.Tensor):
        if x.device.type != "cpu":
            raise argument_error(
                "%s: a tensor on %s; these are host values (the library plans the launch "
                "from them): pass a CPU tensor, NumPy array or list (for the GPU kernels' copy "
                "of offsets, see device_offsets)" % (name, x.device))
        return x.detach().numpy()
    if hasattr(x, "__cuda_array_interface__"):
        raise argument_error("%s: a CUDA array; these are host values: pass a NumPy array or "
                             "a list" % name)
    return np.asarray(x)


def _host_vector(x, name, length, kinds, what, dtype):
    """A contiguous 1-D host array of `dtype` from values whose dtype kind is in `kinds`."""
    a = _host_array(x, name)
    if a.ndim != 1:
        raise argument_error("%s: expected a 1-D sequence, got shape %s" % (name, a.shape))
    if a.size and a.dtype.kind not in kinds:
        raise argument_error("%s: expected %s, got dtype %s" % (name, what, a.dtype))
    if length is not None and a.shape[0] != length:
        raise argument_error("%s: expected %d entries, got %d" % (name, length, a.shape[0]))
    return np.ascontiguousarray(a, dtype=dtype)


def host_ints(x, name, length=None):
    """A 1-D int64 host array from integers (a list, NumPy array, CPU tensor)."""
    return _host_vector(x, name, length, "iu", "integers", np.int64)


def host_floats(x, name, length=None):
    """A 1-D float32 host array from reals (a list, NumPy array, CPU tensor)."""
    return _host_vector(x, name, length, "iuf", "real numbers", np.float32)


def result_kind(views):
    """The family results come in: torch if any input is a tensor, else CuPy for CuPy
    inputs, else NumPy for host inputs."""
    kinds = {v.kind for v in views if v is not None}
    for k in ("torch", "cupy", "cuda"):
        if k in kinds:
            return k
    return "numpy"


_NP = {"int32": np.int32, "int64": np.int64, "float32": np.float32, "float64": np.float64}


def empty(kind, device, shape, dtype):
    """An uninitialised result array. Its storage holds at least one element, so that
    an empty result still has a non-NULL address (the C API wants one)."""
    n = 1
    for d in shape:
        n *= d
    if device is None and kind in ("numpy", "cupy", "cuda"):
        return np.empty(max(n, 1), dtype=_NP[dtype])[:n].reshape(shape)
    if kind == "cupy" or (kind == "cuda" and torch_module() is None):
        import cupy
        with cupy.cuda.Device(max(device, 0)):
            return cupy.empty(max(n, 1), dtype=_NP[dtype])[:n].reshape(shape)
    torch = torch_module()
    if torch is None:
        import torch
    dev = "cpu" if device is None else ("cuda" if device < 0 else "cuda:%d" % device)
    return torch.empty(max(n, 1), dtype=getattr(torch, dtype), device=dev)[:n].view(shape)


def address(a):
    """The data address of a result made by :func:`empty` (or None)."""
    if a is None:
        return None
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    if is_torch(a):
        return a.data_ptr()
    return a.__cuda_array_interface__["data"][0]
