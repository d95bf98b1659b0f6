"""Restoration of a chosen frame with the key photo as reference.

``base`` holds the protocol and the factory registry; ``registry`` registers the built-in restorers
("classic": CPU, no model files; "livemoments": the diffusion model) and reports their availability.
"""

from livemoments_app.core.restore.base import Availability, RestoredImage, RestoreRequest, Restorer

__all__ = ["Availability", "RestoredImage", "RestoreRequest", "Restorer"]
