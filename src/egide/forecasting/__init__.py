"""Maintenance forecasting: remaining useful life (RUL) with honest prediction intervals.

The engine, with no database and no policy: import sensor histories
(:mod:`importing`), normalise per operating regime (:mod:`regimes`), build
windowed features (:mod:`features`), train LightGBM boosters cross-validated
by unit (:mod:`training`), calibrate conformal intervals on units the
boosters never saw (:mod:`conformal`), forecast (:mod:`model`), and save
without pickle (:mod:`storage`). A service layer labels and journals on top.
See docs/maintenance.md.
"""
