"""`livemoments info PATH [PARTNER] [--json]`: what a Live Photo holds and where its key photo sits in the clip.

When the clip cannot be decoded (a file cut short), the container-level facts are still printed, with the
decode error, so a damaged Live Photo can be described; the exit status stays 0 because the files parsed.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from livemoments_app.core.errors import DecodeError
from livemoments_app.core.hdr.model import KIND_NAMES


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="describe a Live Photo / Motion Photo",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the still, the MOV of an Apple pair, or a Motion Photo")
    parser.add_argument("partner", nargs="?", help="the other file of a pair (a still + video given explicitly)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def _nearest(times: np.ndarray, t: float | None) -> int | None:
    if t is None or len(times) == 0:
        return None
    return int(np.argmin(np.abs(np.asarray(times) - t)))


def describe(path, partner=None) -> dict:
    """The facts `info` prints, as a JSON-ready dict."""
    from livemoments_app.core.livephoto import inspect_live_photo
    from livemoments_app.core.livephoto.still import icc_description, probe_size

    parse = inspect_live_photo(path, partner)
    out: dict = {
        "format": parse.format.value,
        "still": {"path": str(parse.still.path)},
        "video": {"path": str(parse.clip_path)},
        "content_identifier": parse.content_identifier,
    }
    if parse.video_range is not None:
        out["video"]["byte_range"] = {"offset": parse.video_range.offset, "length": parse.video_range.length}
    # The gain map as the container describes it (nothing decoded): null for an SDR photo.
    out["still"]["hdr"] = parse.still.hdr.describe() if parse.still.hdr is not None else None
    details = parse.details
    try:
        live = parse.open()
    except DecodeError as exc:
        if getattr(exc, "stage", "clip") == "still":
            out["still"].update({"decodable": False, "error": str(exc)})
        _describe_undecodable(parse, out, exc)
        size = probe_size(parse.still.path, parse.still.kind)
        out["still"].update({"width": size[0] if size else None, "height": size[1] if size else None})
    else:
        with live:
            clip = live.clip
            out["still"].update({"width": live.still.width, "height": live.still.height, "mime": live.still.mime,
                                 "bit_depth": live.still.bit_depth,
                                 "icc_profile": icc_description(live.still.icc_profile) or None,
                                 "colour_target": clip.colour_target})
            out["video"].update({"width": clip.width, "height": clip.height, "codec": clip.codec,
                                 "rotation": clip.rotation, "frame_count": clip.frame_count,
                                 "duration_s": round(float(clip.duration_s), 6),
                                 "hdr": clip.colour["transfer"] if clip.is_hdr else None,
                                 "bit_depth": clip.colour["bit_depth"], "decodable": True})
            _list_tracks(parse, out, fallback=clip.video_tracks)
            out["key_time_s"] = round(float(live.key_time_s), 6)
            out["key_time_source"] = live.key_time_source.value
            out["key_time_estimated"] = live.key_time_estimated
            out["key_frame_index"] = live.key_frame_index
            out["key_frame_time_s"] = round(float(clip.times[live.key_frame_index]), 6)
            details = live.details
    out["details"] = _jsonable(details)
    return out


def _describe_undecodable(parse, out: dict, exc: DecodeError) -> None:
    from livemoments_app.core.livephoto import KeyTimeSource
    from livemoments_app.core.livephoto.open import spec_fallback_time

    video = out["video"]
    if getattr(exc, "stage", "clip") == "clip":
        video.update({"decodable": False, "error": str(exc)})
    movie = parse.movie
    track = movie.main_video_track() if movie is not None else None
    key_time = parse.key_time_s
    if track is None:
        out.update({"key_time_s": key_time, "key_time_source": parse.key_time_source.value,
                    "key_frame_index": None})
        return
    times = movie.presentation_times(track)
    width, height = track.display_size
    duration = movie.duration_s or (float(times[-1]) if len(times) else 0.0)
    video.update({"width": width, "height": height, "codec": track.codec, "rotation": track.rotation,
                  "frame_count": int(len(times)), "duration_s": round(duration, 6)})
    _list_tracks(parse, out)
    if parse.key_time_source == KeyTimeSource.SPEC_FALLBACK_MIDPOINT:
        key_time = spec_fallback_time(times, duration)
    out["key_time_s"] = round(key_time, 6) if key_time is not None else None
    out["key_time_source"] = parse.key_time_source.value
    out["key_time_estimated"] = parse.key_time_source == KeyTimeSource.IMAGE_SIMILARITY
    out["key_frame_index"] = _nearest(times, key_time)


def _list_tracks(parse, out: dict, fallback: list | None = None) -> None:
    """Every video track (sizes as displayed); the clip is the one with the most frames."""
    movie = parse.movie
    if movie is None or not movie.video_tracks():
        out["video_tracks"] = list(fallback or [])
    else:
        main = movie.main_video_track()
        out["video_tracks"] = [{"track_id": t.track_id, "codec": t.codec, "width": t.display_size[0],
                                "height": t.display_size[1], "rotation": t.rotation,
                                "frame_count": t.sample_count, "selected": t is main}
                               for t in movie.video_tracks()]
    out["other_video_tracks"] = [t for t in out["video_tracks"] if not t.get("selected")]


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _text(info: dict) -> str:
    still, video = info["still"], info["video"]
    lines = [f"{still['path']}" + (f" + {video['path']}" if video["path"] != still["path"] else "")]
    lines.append(f"  format        {info['format']}")
    extra = ", ".join(x for x in (still.get("mime"), f"{still['bit_depth']}-bit" if still.get("bit_depth") else None,
                                  still.get("icc_profile")) if x)
    lines.append(f"  still         {still.get('width')}×{still.get('height')}" + (f"  ({extra})" if extra else ""))
    hdr = still.get("hdr")
    if hdr:
        form = KIND_NAMES.get(hdr["kind"], hdr["kind"])
        also = " + ISO 21496-1" if hdr["kind"] == "apple" and hdr.get("iso21496") else ""
        lines.append(f"  HDR           {form}{also}, {hdr['gain_map_width']}×{hdr['gain_map_height']}, headroom "
                     f"{hdr['headroom']:.2f}× (+{hdr['headroom_stops']:.2f} stops)")
    else:
        lines.append("  HDR           no (SDR photo)")
    where = f"  bytes {video['byte_range']['offset']}+{video['byte_range']['length']}" if "byte_range" in video else ""
    if video.get("width") is not None:
        dynamic = f", HDR {video['hdr'].upper()} {video.get('bit_depth')}-bit" if video.get("hdr") else ""
        lines.append(f"  video         {video['width']}×{video['height']} {video['codec']}{dynamic}, rotation "
                     f"{video['rotation']}°, {video['frame_count']} frames, {video['duration_s']:.3f} s{where}")
    if not video.get("decodable", True):
        lines.append(f"  clip          cannot be decoded: {video.get('error')}")
    if info.get("key_time_s") is not None:
        index = info.get("key_frame_index")
        frame = f" → frame #{index} of {video.get('frame_count')}" if index is not None else ""
        estimated = ""
        if info.get("key_time_estimated"):
            confident = (info.get("details") or {}).get("key_time_estimate", {}).get("confident")
            estimated = " (estimated; uncertain: check it)" if confident is False else " (estimated)"
        lines.append(f"  key photo     {info['key_time_s']:.4f} s via {info['key_time_source']}{estimated}{frame}")
    else:
        lines.append(f"  key photo     unknown ({info.get('key_time_source')})")
    if info.get("content_identifier"):
        lines.append(f"  content id    {info['content_identifier']}")
    for track in info.get("other_video_tracks", []):
        lines.append(f"  other video track: {track.get('codec')} {track.get('width')}×{track.get('height')}, "
                     f"{track.get('frame_count')} frames (not used)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    info = describe(args.path, args.partner)
    if args.json:
        json.dump(info, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(_text(info))
    return 0
