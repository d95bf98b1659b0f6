"""The app's HEIC encoder runs in a low-priority child process (core/export/encoder_process.py): same pixels as the
encoder in this process, the export's metadata, cancellation that kills it, and a clear error when it dies. The
command line and batches code in their own process (ExportOptions.encoder_process off)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import numpy as np
import pillow_heif
import pytest

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export import ExportOptions, StillMetadata, encode, export_still, still
from livemoments_app.core.export.encoder_process import ENCODER_NICENESS, run_encoder
from livemoments_app.core.jobs import CancelToken, Cancelled, Progress

# An ICC profile is opaque bytes to the encoder; a short fake one is enough to see it carried.
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4"/></rdf:RDF></x:xmpmeta>')
META = StillMetadata(icc_profile=b"\x00\x00\x00\x18fake-profile-for-the-test", xmp=XMP, mime="image/heic")
IN_CHILD = ExportOptions(format="heic", encoder_process=True)


def _picture(dtype=np.uint8) -> np.ndarray:
    y, x = np.mgrid[0:240, 0:320].astype(np.float32)
    rgb = np.stack([x / 320, y / 240, (np.sin(x / 9) * np.cos(y / 7) + 1) / 2], -1)
    scale = 255 if dtype == np.uint8 else 65535
    return np.ascontiguousarray(np.rint(rgb * scale).astype(dtype))


# Module-level, so the child process can import them.
def _raise_value_error(message: str) -> bytes:
    raise ValueError(message)


def _die(sig: int) -> bytes:
    os.kill(os.getpid(), sig)
    time.sleep(60)
    return b""


def _sleep_then(seconds: float, answer: bytes) -> bytes:
    time.sleep(seconds)
    return answer


def _own_niceness() -> bytes:
    return str(os.getpriority(os.PRIO_PROCESS, 0)).encode()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_child_encodes_the_same_pixels_as_this_process(dtype):
    pixels = _picture(dtype)
    exported = encode(pixels, META, IN_CHILD)
    # the encoder run here, as the export did before it moved to a child process
    quality, preset = still.HEIC_FAST["quality"], still.HEIC_FAST["preset"]
    here = still.heic_bytes(pixels, quality, {"preset": preset}, None, exported.xmp, META.icc_profile)
    ours = pillow_heif.open_heif(exported.data, convert_hdr_to_8bit=False)
    theirs = pillow_heif.open_heif(here, convert_hdr_to_8bit=False)
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))
    assert ours.info["bit_depth"] == (10 if dtype == np.uint16 else 8) == exported.bit_depth
    assert ours.info["icc_profile"] == META.icc_profile
    assert b'xmp:Rating="4"' in exported.xmp and ours.info["xmp"] == exported.xmp


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="niceness is a Unix notion")
def test_the_encoder_runs_at_low_priority():
    app = os.getpriority(os.PRIO_PROCESS, os.getpid())
    assert int(run_encoder(_own_niceness)) == min(19, app + ENCODER_NICENESS)
    # started from a thread that already runs lower (the app's workers), it still ends up 10 below the app
    box = {}

    def from_a_worker():
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, app + 5))
        box["nice"] = int(run_encoder(_own_niceness))
    worker = threading.Thread(target=from_a_worker)
    worker.start()
    worker.join()
    assert box["nice"] == min(19, app + ENCODER_NICENESS)


def test_an_encoder_failure_is_an_export_error_with_the_reason(monkeypatch):
    with pytest.raises(RuntimeError, match="ValueError: the codec said no"):
        run_encoder(_raise_value_error, "the codec said no")
    # through the export: the encoder's reason, in an ExportError naming the format
    monkeypatch.setattr(still, "run_encoder", lambda work, *args, **kw: run_encoder(_raise_value_error, "bad quality"))
    with pytest.raises(ExportError, match="the HEIC encoder failed: ValueError: bad quality"):
        encode(_picture(), META, IN_CHILD)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="Unix signals")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGSEGV"])
def test_a_child_that_dies_is_a_clear_error_not_a_hang(sig):
    started = time.monotonic()
    with pytest.raises(ExportError, match=f"the HEIC encoder stopped unexpectedly \\(killed by {sig}\\)"):
        run_encoder(_die, int(getattr(signal, sig)))
    assert time.monotonic() - started < 30
    assert not multiprocessing.active_children()


def test_cancelling_kills_the_encoder_at_once():
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_encoder(_sleep_then, 60.0, b"never", progress=Progress(token=token))
    assert time.monotonic() - started < 10
    assert not multiprocessing.active_children()
    # and an answer that comes in time is returned as is
    assert run_encoder(_sleep_then, 0.0, b"\x00done") == b"\x00done"


def test_a_cancelled_export_stays_cancelled_and_writes_nothing(tmp_path, monkeypatch):
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    # a slow encode (60 s) in the encoder's place
    monkeypatch.setattr(still, "run_encoder",
                        lambda work, *args, progress=None, name="": run_encoder(_sleep_then, 60.0, b"x",
                                                                                 progress=progress))
    with pytest.raises(Cancelled):
        export_still(_picture(), META, tmp_path, IN_CHILD, Progress(token=token))
    assert list(tmp_path.iterdir()) == []


def test_a_child_whose_parent_is_gone_ends_quietly(capfd):
    """A batch killed with SIGKILL while its encoder worked: the child, finishing, found the pipe closed and printed
    a BrokenPipeError traceback into the user's terminal."""
    from livemoments_app.core.export.encoder_process import _child, _send

    inbox, to_child = multiprocessing.Pipe(duplex=False)
    from_child, outbox = multiprocessing.Pipe(duplex=False)
    _send(to_child, bytes, (3,))
    from_child.close()                                  # the parent died
    _child(inbox, outbox, None)
    assert capfd.readouterr().err == ""


@pytest.mark.samples
@pytest.mark.parametrize("name", ["apple_iphone15pro_IMG_4394.HEIC", "samsung_s22_oneui6_motionphoto.heic"])
def test_a_cancelled_write_back_stops_while_encoding_and_writes_nothing(tmp_path, monkeypatch, name):
    """The write-backs hand the job's progress to the encoder too: cancelling kills it at once rather than
    after the whole encode."""
    from livemoments_app.core.export import write_back
    from livemoments_app.core.livephoto import open_live_photo
    from tests.conftest import sample

    token = CancelToken()
    started = []

    def slow_encoder(work, *args, progress=None, name=""):      # a 60 s encode, cancelled 0.5 s into it
        started.append(time.monotonic())
        threading.Timer(0.5, token.cancel).start()
        return run_encoder(_sleep_then, 60.0, b"x", progress=progress)

    monkeypatch.setattr(still, "run_encoder", slow_encoder)
    with open_live_photo(sample(name)) as live:
        with pytest.raises(Cancelled):
            write_back(live, live.still.pixels[::4, ::4], 3, tmp_path, ExportOptions(encoder_process=True),
                       progress=Progress(token=token))
    assert len(started) == 1 and time.monotonic() - started[0] < 10
    assert list(tmp_path.iterdir()) == []


def test_batch_threads_coding_heic_at_once_get_what_one_at_a_time_gets():
    """A batch with --jobs N codes its HEICs in its own threads, several at once: each must come out as it would
    alone (x265 and libheif keep their state per encoder)."""
    pictures = [np.ascontiguousarray(np.roll(_picture(), 37 * i, axis=1)) for i in range(4)]
    options = ExportOptions(format="heic")
    alone = [encode(p, META, options).data for p in pictures]
    together: list[bytes | None] = [None] * len(pictures)

    def code(i: int) -> None:
        together[i] = encode(pictures[i], META, options).data
    threads = [threading.Thread(target=code, args=(i,)) for i in range(len(pictures))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone and len(set(alone)) == len(alone)
    assert not multiprocessing.active_children()
