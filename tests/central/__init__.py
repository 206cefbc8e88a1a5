"""Tests of the ODK Central subset under /v1 (a package, so module names do not clash)."""
