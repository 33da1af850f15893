"""Canned investigations over the store: each module has Params, SQL constants and run()."""
