"""Browser-playable proxies: H.264 (yuv420p, even size, upright) + AAC in MP4, made with PyAV.

Browsers play H.264/AAC in MP4 and VP8/VP9 with Opus/Vorbis in WebM; everything else (HEVC, MPEG-4 Part 2, MJPEG,
AVI, MKV, 10-bit or 4:2:2 H.264 ...) gets a proxy for the player. The original is never touched: analysis stages
read the original, the player plays the proxy, and both share one timeline (the proxy keeps the original's
timestamps, shifted so the file starts at 0 like a browser shows it).

Example::

    from vidqa.media.probe import probe
    from vidqa.media.proxy import needs_proxy, make_proxy
    p = probe("match.mkv")
    if needs_proxy(p, "match.mkv"):
        make_proxy("match.mkv", "match.proxy.mp4", p)
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from vidqa.errors import CorruptMediaError, MediaError
from vidqa.records import Probe

CRF = 23
PRESET = "veryfast"
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_PLAYABLE_PIX = {"yuv420p", "yuvj420p"}


def needs_proxy(probe: Probe, path: str | os.PathLike[str]) -> bool:
    """Whether browsers need a proxy to play ``path``.

    False only for H.264 (8-bit 4:2:0) with AAC/MP3 or no audio in MP4, and VP8/VP9 with Opus/Vorbis or no audio
    in WebM.

    >>> needs_proxy(probe("clip.mp4"), "clip.mp4")  # doctest: +SKIP
    False
    """
    container = probe.container
    if container == "mp4" and probe.video_codec == "h264" and probe.audio_codec in (None, "aac", "mp3"):
        return _pix_fmt(path) not in _PLAYABLE_PIX
    webm_ok = container == "webm" and probe.video_codec in ("vp8", "vp9")
    return not (webm_ok and probe.audio_codec in (None, "opus", "vorbis"))


def make_proxy(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    probe: Probe,
    *,
    progress: bool = True,
    crf: int = CRF,
    preset: str = PRESET,
    max_height: int | None = None,
) -> Path:
    """Encode ``src`` as an H.264/AAC MP4 at ``dest`` (written to a temp file, renamed when complete).

    The picture is turned upright (``probe.rotation``), cropped by at most one pixel to even dimensions (or scaled
    down to ``max_height``), converted to yuv420p; frame timestamps are kept (VFR stays VFR); a keyframe every
    second keeps browser seeking precise; the index is at the front (``faststart``) for streaming. The first audio
    track becomes AAC. Returns ``dest``.

    Raises :class:`CorruptMediaError` when ``src`` cannot be decoded.
    """
    import av

    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{os.getpid()}.tmp.mp4")
    try:
        _encode(av, src, tmp, probe, progress=progress, crf=crf, preset=preset, max_height=max_height)
        os.replace(tmp, dest)
    except av.error.FFmpegError as err:  # type: ignore[attr-defined]
        tmp.unlink(missing_ok=True)
        raise CorruptMediaError(f"Could not make a playable copy of {src.name}: {err}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _encode(av, src: Path, tmp: Path, probe: Probe, *, progress: bool, crf: int, preset: str,  # noqa: ANN001
            max_height: int | None) -> None:
    from tqdm.auto import tqdm

    with av.open(str(src), metadata_errors="ignore") as inp:
        videos = [s for s in inp.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
        if not videos:
            raise MediaError(f"{src.name} has no video stream to make a proxy from.")
        vin = videos[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        vin.thread_type = "FRAME"
        vtb = vin.time_base or Fraction(1, 90000)
        start_s = (inp.start_time or 0) / 1_000_000

        rotation = probe.rotation % 360
        w, h = vin.codec_context.width, vin.codec_context.height
        out_w, out_h = (h, w) if rotation in (90, 270) else (w, h)
        if max_height and out_h > max_height:
            out_w, out_h = out_w * max_height / out_h, max_height
        out_w, out_h = max(2, int(out_w) // 2 * 2), max(2, int(out_h) // 2 * 2)

        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = out.add_stream("libx264", rate=rate)
            vout.width, vout.height, vout.pix_fmt = out_w, out_h, "yuv420p"
            vout.time_base = vtb
            vout.codec_context.time_base = vtb
            keyint = max(1, int(round(float(rate))))
            vout.options = {"crf": str(crf), "preset": preset, "g": str(keyint), "keyint_min": str(keyint)}

            graph = av.filter.Graph()
            buf = graph.add_buffer(template=vin)
            nodes = [buf]
            for name, arg in _rotation_filters(rotation):
                nodes.append(graph.add(name, arg))
            nodes.append(graph.add("scale", f"{out_w}:{out_h}"))
            nodes.append(graph.add("format", "yuv420p"))
            nodes.append(graph.add("buffersink"))
            graph.link_nodes(*nodes).configure()

            aout = fifo = None
            a_rate = 48000
            if ain is not None:
                in_rate = ain.codec_context.sample_rate or 48000
                a_rate = in_rate if in_rate in AAC_RATES else 48000
                layout = "mono" if (ain.codec_context.channels or 2) == 1 else "stereo"
                aout = out.add_stream("aac", rate=a_rate)
                aout.layout = layout
                aout.time_base = Fraction(1, a_rate)
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=a_rate)
                fifo = av.AudioFifo()
            a_state = {"base": None, "emitted": 0}

            last_pts: int | None = None
            counter = 0
            duration = max(probe.duration, 1e-3)
            start_pts = int(round(start_s / vtb))
            with tqdm(total=round(duration, 1), unit="s", desc=f"proxy {src.name}"[:40], disable=not progress,
                      leave=False) as bar:
                shown = 0.0
                streams = [vin] + ([ain] if ain is not None else [])
                for packet in inp.demux(*streams):
                    try:
                        frames = packet.decode()
                    except av.error.InvalidDataError:  # type: ignore[attr-defined]
                        continue  # a damaged packet: skip it, keep going
                    for frame in frames:
                        if packet.stream is vin:
                            graph.vpush(frame)
                            last_pts, counter = _drain_video(av, graph, vout, out, vtb, start_pts, last_pts, counter,
                                                             rate)
                            t = frame.time
                            if t is not None and t - start_s > shown:
                                bar.update(min(duration, t - start_s) - shown)
                                shown = min(duration, t - start_s)
                        elif aout is not None:
                            _push_audio(frame, resampler, fifo, aout, out, a_state, start_s, a_rate)
                # flush
                graph.vpush(None)
                last_pts, counter = _drain_video(av, graph, vout, out, vtb, start_pts, last_pts, counter, rate)
                for packet in vout.encode():
                    out.mux(packet)
                if aout is not None:
                    for rframe in resampler.resample(None):
                        _fifo_write(fifo, rframe, a_state, start_s, a_rate)
                    _drain_audio(fifo, aout, out, a_state, final=True)
                    for packet in aout.encode():
                        out.mux(packet)
                bar.update(max(0.0, duration - shown))
            if counter == 0:
                raise CorruptMediaError(f"No video frame of {src.name} could be decoded.")


def _rotation_filters(rotation: int) -> list[tuple[str, str | None]]:
    if rotation == 90:
        return [("transpose", "clock")]
    if rotation == 270:
        return [("transpose", "cclock")]
    if rotation == 180:
        return [("hflip", None), ("vflip", None)]
    return []


def _drain_video(av, graph, vout, out, vtb, start_pts: int, last_pts, counter: int, rate) -> tuple:  # noqa: ANN001
    while True:
        try:
            frame = graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):  # type: ignore[attr-defined]
            return last_pts, counter
        if frame.pts is None:
            pts = (last_pts + 1) if last_pts is not None else 0
            if rate:
                pts = int(round(counter / float(rate) / vtb))
        else:
            pts = int(frame.pts) - start_pts
        if last_pts is not None and pts <= last_pts:
            continue  # duplicate or backwards timestamp: drop the frame
        frame.pts = pts
        frame.time_base = vtb
        frame.pict_type = av.video.frame.PictureType.NONE
        for packet in vout.encode(frame):
            out.mux(packet)
        last_pts = pts
        counter += 1


def _push_audio(frame, resampler, fifo, aout, out, state, start_s: float, a_rate: int) -> None:  # noqa: ANN001
    if state["base"] is None:
        t = frame.time
        state["base"] = max(0, int(round(((t if t is not None else start_s) - start_s) * a_rate)))
    for rframe in resampler.resample(frame):
        _fifo_write(fifo, rframe, state, start_s, a_rate)
    _drain_audio(fifo, aout, out, state, final=False)


def _fifo_write(fifo, rframe, state, start_s: float, a_rate: int) -> None:  # noqa: ANN001
    rframe.pts = None
    fifo.write(rframe)


def _drain_audio(fifo, aout, out, state, *, final: bool) -> None:  # noqa: ANN001
    size = aout.codec_context.frame_size or 1024
    while fifo.samples >= size or (final and fifo.samples > 0):
        chunk = fifo.read(min(size, fifo.samples))
        chunk.pts = (state["base"] or 0) + state["emitted"]
        chunk.time_base = Fraction(1, aout.codec_context.sample_rate)
        state["emitted"] += chunk.samples
        for packet in aout.encode(chunk):
            out.mux(packet)


def _pix_fmt(path: str | os.PathLike[str]) -> str | None:
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            vs = c.streams.video[0]
            return vs.codec_context.pix_fmt
    except Exception:  # noqa: BLE001
        return None


__all__ = [
    "make_proxy",
    "needs_proxy",
]
