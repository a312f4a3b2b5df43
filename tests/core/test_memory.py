"""The process memory settings: glibc's arena limit takes effect, and the entry point sets it
before the pipeline is loaded."""

import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="M_ARENA_MAX is a glibc malloc option",
)

# Four threads allocate at once; glibc's malloc_info then lists one <heap> per arena.
ARENAS_USED = """
import ctypes, ctypes.util, os, sys, tempfile, threading
from transforms.core.memory import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas() is True
def allocate(barrier):
    barrier.wait()
    kept = [bytearray(100_000) for _ in range(20)]
    barrier.wait()
barrier = threading.Barrier(4)
threads = [threading.Thread(target=allocate, args=(barrier,)) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
fd, path = tempfile.mkstemp()
os.close(fd)
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
print(open(path).read().count("<heap nr="))
os.unlink(path)
"""


def arenas_used(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", ARENAS_USED, mode], capture_output=True, text=True, check=True
    ).stdout
    return int(out)


@glibc
def test_the_arena_limit_keeps_threads_off_new_arenas():
    unlimited, limited = arenas_used("none"), arenas_used("limit")
    assert unlimited >= 4  # glibc gave the threads arenas of their own
    assert limited <= 2  # the main arena, and at most one made while pyarrow was imported


@glibc
def test_the_entry_point_limits_arenas_before_loading_the_pipeline():
    # A spy records what was loaded when `python -m pipeline` / `keyframer` made the call.
    code = """
import sys
import transforms.core.memory as memory
calls = []
real = memory.limit_malloc_arenas
def spy(*args):
    calls.append(sorted(m for m in ("apache_beam", "pipeline.cli") if m in sys.modules))
    return real(*args)
memory.limit_malloc_arenas = spy
import pipeline.__main__
print(calls, "pipeline.cli" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[[]] True"
