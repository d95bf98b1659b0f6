"""Restoring many photos: a plan, a journal that makes the batch resumable, and engines that run it.

* :mod:`.inputs`: files, folders and globs to the photos they name (an Apple pair once, by its still).
* :mod:`.plan`: what to do (:class:`BatchSettings`: which frame, restorer, format...) and, per photo, the output
  name reserved for it (:class:`PlanItem`).
* :mod:`.journal`: the SQLite journal in the output folder: one row per photo, pending / running / done / failed.
* :mod:`.item`: the work of one photo (restore, write atomically, checksum) -- the same function on every engine.
* :mod:`.runner`: the driver: resumes from the journal, hands items to an engine, acknowledges results.
* :mod:`.engine_local` (threads on this machine) and :mod:`.engine_ray` (a Ray cluster; imported only when chosen,
  Ray is the optional ``cluster`` extra).

Only the driver writes the journal; workers write photos (temp file + rename) and return what they wrote.
"""
