"""feeder: many article sources in, a few curated, deduplicated topic feeds out."""

__version__ = "0.1.0"
