"""A folder of Live Photos as a library: finding them (walk), reading each cheaply (scan, thumbnail), remembering
what was read (cache), their best moments (best) and restoring those (restore). No Qt here: the app drives these
steps from ui/viewmodels/library.py, the command line from cli/suggest.py."""

from livemoments_app.core.library.cache import LibraryCache, default_cache_dir
from livemoments_app.core.library.entry import BestMoment, FileKey, LibraryEntry
from livemoments_app.core.library.scan import Found, Summary, describe, read_listing, summarize
from livemoments_app.core.library.walk import Candidate, Listing, list_folder

__all__ = ["BestMoment", "Candidate", "FileKey", "Found", "LibraryCache", "LibraryEntry", "Listing", "Summary",
           "default_cache_dir", "describe", "list_folder", "read_listing", "summarize"]
