"""The exception the binding raises, and the C library's status codes."""

import enum


class Status(enum.IntEnum):
    """``aa_status``: the C library's stable status values."""

    SUCCESS = 0
    NULL_POINTER = 1
    INVALID_ARGUMENT = 2
    INVALID_BOX = 3
    OUT_OF_MEMORY = 4
    NOT_SUPPORTED = 5
    NO_DEVICE = 6
    BACKEND = 7
    WORKSPACE_TOO_SMALL = 8
    LIMIT_EXCEEDED = 9
    INTERNAL = 10

    @property
    def c_name(self):
        """The C enumerator, e.g. ``AA_ERR_INVALID_BOX``."""
        return "AA_SUCCESS" if self is Status.SUCCESS else "AA_ERR_" + self.name


class Error(Exception):
    """A failed anchorassign call.

    Attributes:
        status:  a :class:`Status` (the C library's ``aa_status``; the binding's own
                 argument checks use ``INVALID_ARGUMENT``, ``INVALID_BOX`` is never
                 raised by them).
        message: one line naming the argument and the value at fault: the C library's
                 ``aa_context_last_error`` text for errors found by the library (it names
                 the C struct fields: ``gts.boxes`` is ``gt_boxes``, ``gts.offsets`` is
                 ``offsets``, ``gts.ignore_flags`` is ``ignore``, ``anchors.boxes`` the
                 anchor boxes, ``segments.points`` and ``segments.offsets`` are
                 :meth:`Context.gmm_fit`'s ``points`` and ``offsets``, ``head.cls_logits`` and
                 ``head.bbox_deltas`` PAA's ``cls_logits`` and ``bbox_deltas``,
                 ``gts.labels`` is ``labels``, ``params.X`` the keyword ``X``), or the binding's own text
                 for what Python checks first (dtype, shape, device, contiguity).
    """

    def __init__(self, status, message):
        try:
            status = Status(int(status))
        except ValueError:
            pass
        self.status = status
        self.message = message
        name = status.c_name if isinstance(status, Status) else "aa_status %d" % int(status)
        super().__init__("%s: %s" % (name, message))


def argument_error(message):
    """An :class:`Error` for a bad argument found by the binding itself."""
    return Error(Status.INVALID_ARGUMENT, message)
