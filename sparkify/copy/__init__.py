"""COPY from JSON: what to load (spec), how Redshift is told (redshift), and the local emulation (emulator)."""
