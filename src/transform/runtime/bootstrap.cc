// Embedded rather than installed next to the binary, so a worker can never run a bootstrap
// of another version than the server's. Keep it dependency-free (standard library only).
#include "transform/runtime/bootstrap.h"

namespace millrace::transform {

const char kBootstrapPy[] = R"PY(
import base64, binascii, importlib, json, os, sys, time, traceback

# Protocol on a private dup of fd 1; fd 1 itself now goes to stderr, so whatever the
# function prints (print, os.write(1), subprocesses) is captured as its log.
_proto = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
# A large buffer: a 6 MB request line is read in a few system calls, not thousands.
_stdin = os.fdopen(os.dup(0), "rb", buffering=1 << 20)

code_dir, handler_name = sys.argv[1], sys.argv[2]
sys.path.insert(0, code_dir)
os.chdir(code_dir)

# Errors worded as Lambda's Python runtime words them.
_handler, _init_error = None, None
_mod_name, _, _fn_name = handler_name.rpartition(".")
try:
    if not _mod_name or not _fn_name:
        raise ValueError("Bad handler '%s': expected module.function" % handler_name)
    _module = importlib.import_module(_mod_name)
    _handler = getattr(_module, _fn_name, None)
    if not callable(_handler):
        _init_error = ("Runtime.HandlerNotFound",
                       "Handler '%s' missing on module '%s'" % (_fn_name, _mod_name), [])
except MemoryError:
    _init_error = ("Runtime.OutOfMemory", "MemoryError while importing the handler", [])
except BaseException as e:
    _init_error = ("Runtime.ImportModuleError",
                   "Unable to import module '%s': %s" % (_mod_name or handler_name, e),
                   traceback.format_exc().splitlines())


class Context:
    def __init__(self, c, deadline):
        self.function_name = c["function_name"]
        self.function_version = c["function_version"]
        self.memory_limit_in_mb = int(c["memory_limit_in_mb"])
        self.aws_request_id = c["aws_request_id"]
        self.invoked_function_arn = c["invoked_function_arn"]
        self.log_group_name = c["log_group_name"]
        self.log_stream_name = c["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _default(o):
    # Handlers build "data" with base64.b64encode(...), which is bytes holding base64 text:
    # send that text. Bytes that are not base64 are taken as the payload and encoded.
    if isinstance(o, (bytes, bytearray, memoryview)):
        b = bytes(o)
        try:
            base64.b64decode(b, validate=True)
            return b.decode("ascii")
        except (binascii.Error, ValueError):
            return base64.b64encode(b).decode("ascii")
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


try:  # optional: several times faster than the standard library, used when installed
    import orjson as _orjson
except ImportError:
    _orjson = None


def _loads(b):
    return _orjson.loads(b) if _orjson else json.loads(b)


def _dumps(result):
    if _orjson:
        try:
            return _orjson.dumps(result, default=_default, option=_orjson.OPT_NON_STR_KEYS)
        except MemoryError:
            raise
        except Exception:
            pass  # what orjson refuses, json may still take (e.g. big ints): same semantics
    return json.dumps(result, default=_default, separators=(",", ":")).encode()


def _send(line):
    _proto.write(line)


def _error(etype, msg, trace):
    _send(json.dumps({"error": {"errorType": etype, "errorMessage": msg,
                                "stackTrace": trace}}).encode() + b"\n")


while True:
    line = _stdin.readline()
    if not line:
        break  # the server closed our stdin: it is gone or replacing us
    try:
        req = _loads(line)
        if req.get("check"):  # the server loads the code once when it is uploaded
            if _init_error is not None:
                _error(*_init_error)
            else:
                _send(b'{"ok":{"records":[]}}\n')
            continue
        deadline = time.monotonic() + req["context"]["remaining_ms"] / 1000.0
        ctx = Context(req["context"], deadline)
    except BaseException as e:
        _error("Runtime.InvalidRequest", str(e), [])
        continue
    if _init_error is not None:
        _error(*_init_error)
        continue
    try:
        result = _handler(req["event"], ctx)
    except MemoryError:
        _error("Runtime.OutOfMemory", "MemoryError", [])
        sys.exit(75)  # the heap may be unusable: let the server start a fresh worker
    except BaseException as e:
        _error(type(e).__name__, str(e), traceback.format_exc().splitlines())
        continue
    try:
        out = _dumps(result)
    except MemoryError:
        _error("Runtime.OutOfMemory", "MemoryError", [])
        sys.exit(75)
    except BaseException as e:
        _error("Runtime.MarshalError", "Unable to marshal response: %s" % e, [])
        continue
    _send(b'{"ok":' + out + b"}\n")
)PY";

}  // namespace millrace::transform
